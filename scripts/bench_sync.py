"""What a re-sync costs: a sitemap of N generated pages served on 127.0.0.1, synced three times.

Prints, for each run, the HTTP requests sent, the counts and the seconds: the first sync (every page
fetched and embedded), a re-sync with nothing changed, and a re-sync after K pages were edited. The hash
embedder keeps the embedding out of the figures unless --model names a real one.

    .venv/bin/python scripts/bench_sync.py --pages 200 --edit 5
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from index.config import EmbedSettings, FetchSettings, IndexSettings
from index.embed import make_embedder
from index.sources.state import SyncState
from index.sources.sync import Syncer
from index.store import Library

WORDS = ["river", "bridge", "council", "school", "harbour", "budget", "engineer", "mayor", "ferry", "storm"]


def article(n: int, version: int) -> bytes:
    sentences = " ".join(f"<p>Report {n}.{i} (v{version}): the {WORDS[(n + i) % 10]} of district {n} was "
                         f"discussed by the {WORDS[(n * 3 + i) % 10]} committee for {i + 2} hours.</p>"
                         for i in range(8))
    return (f"<html lang='en'><head><title>Report {n}</title></head><body><nav><a href='/'>Home</a></nav>"
            f"<article><h1>Report {n}</h1>{sentences}</article><footer>© News</footer></body></html>").encode()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--edit", type=int, default=5)
    parser.add_argument("--model", default="hash")
    args = parser.parse_args()
    versions = dict.fromkeys(range(args.pages), 1)
    requests = [0]

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests[0] += 1
            if self.path == "/sitemap.xml":
                body = ('<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">' + "".join(
                    f"<url><loc>{base}/a/{n}</loc><lastmod>2026-01-{v:02d}</lastmod></url>"
                    for n, v in versions.items()) + "</urlset>").encode()
                kind = "application/xml"
            else:
                n = int(self.path.rsplit("/", 1)[1])
                body, kind = article(n, versions[n]), "text/html"
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    cfg = IndexSettings(embed=EmbedSettings(model=args.model), fetch=FetchSettings(allow_hosts=["127.0.0.1"]))
    with tempfile.TemporaryDirectory() as tmp:
        embedder = make_embedder(cfg.embed, Path(tmp) / "models")
        library = Library(Path(tmp), "articles", embedder.name)
        state = SyncState(Path(tmp) / "sync.sqlite3")
        for label in ("first sync", "re-sync, nothing changed", f"re-sync after {args.edit} edits"):
            if label.startswith("re-sync after"):
                for n in range(args.edit):
                    versions[n] = 2
            requests[0] = 0
            start = time.perf_counter()
            syncer = Syncer(library, embedder, cfg, state)
            [report] = syncer.run([f"{base}/sitemap.xml"])
            syncer.close()
            counts = {k: v for k, v in report.counts().items() if v}
            print(f"{label:28} {requests[0]:5} requests  {time.perf_counter() - start:6.2f} s  {counts}")
        library.close()
    httpd.shutdown()


if __name__ == "__main__":
    main()
