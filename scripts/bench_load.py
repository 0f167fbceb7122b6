"""Load: N concurrent clients x M questions against `articlebot serve` while 200 articles are ingested.

Starts a real server (a subprocess on a free port, fresh data directory, the configured model), ingests a
base collection through the CLI first (the first 100 passages of the English bench corpus), then, at the
same moment, starts N client threads asking M questions each (POST /api/v1/ask) and one writer posting
200 other passages (POST /api/v1/articles, the server owns the embedded store). With --chroma-url the
server uses that Chroma server and the 200 articles go in through `articlebot ingest` in another process.

    .venv/bin/python scripts/bench_load.py --clients 20 --questions 50 --articles 200

Prints latency percentiles of all questions and of those asked while the ingest ran, and the errors.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np

BENCH = Path(__file__).resolve().parents[2] / "shared" / "bench" / "dev"
BIN = Path(sys.executable).parent
KEY = "bench-load-key-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def passages(corpus: str, skip: int, n: int) -> list[dict[str, str]]:
    rows = [json.loads(line) for line in (BENCH / corpus).open(encoding="utf-8")]
    return rows[skip:skip + n]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--questions", type=int, default=50, help="per client")
    parser.add_argument("--articles", type=int, default=200, help="ingested while the clients ask")
    parser.add_argument("--model", default="multilingual-e5-small")
    parser.add_argument("--models-dir", type=Path, default=Path(".cache/models"))
    parser.add_argument("--chroma-url", default="")
    parser.add_argument("--writer-nice", type=int, default=None,
                        help="the server's ARTICLEBOT_SERVE__WRITER_NICE (default: its own, 10; 0: writes at "
                             "the questions' priority, the baseline)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-load-"))
    env = {**os.environ, "ARTICLEBOT_HOME": str(work / "home"), "ARTICLEBOT_INDEX__EMBED__MODEL": args.model,
           "ARTICLEBOT_API_KEYS": KEY, "ARTICLEBOT_CHROMA_URL": args.chroma_url,
           # Every client here is one address (127.0.0.1): the per-client limits would refuse all but the
           # first 60 questions a minute. This measures capacity, not the limiter.
           "ARTICLEBOT_SERVE__RATE_LIMIT_ASK": "", "ARTICLEBOT_SERVE__RATE_LIMIT_WRITE": ""}
    if args.writer_nice is not None:
        env["ARTICLEBOT_SERVE__WRITER_NICE"] = str(args.writer_nice)
    (work / "home" / "models").mkdir(parents=True)
    if args.models_dir.exists():  # reuse the converted model instead of converting it again
        for item in args.models_dir.iterdir():
            (work / "home" / "models" / item.name).symlink_to(item.resolve())
    base, extra = work / "base", work / "extra"
    base.mkdir()
    extra.mkdir()
    for row in passages("corpus_xquad_en.jsonl", 0, 100):
        (base / f"{row['pid']}.txt").write_text(f"{row['title']}\n\n{row['text']}", encoding="utf-8")
    new = (passages("corpus_xquad_en.jsonl", 100, 140) + passages("corpus_xquad_de.jsonl", 0, 240))[:args.articles]
    for i, row in enumerate(new):
        (extra / f"{i:03d}.txt").write_text(f"{row['title']} {i}\n\n{row['text']}", encoding="utf-8")
    subprocess.run([str(BIN / "articlebot"), "ingest", str(base), "--json"], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    questions = [json.loads(line)["question"] for line in (BENCH / "questions.jsonl").open(encoding="utf-8")
                 if '"corpus_xquad_en.jsonl"' in line]

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([str(BIN / "articlebot"), "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=(work / "server.log").open("w"))
    started = time.perf_counter()
    while True:
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if server.poll() is not None or time.perf_counter() - started > 300:
            sys.exit(f"the server did not start; see {work / 'server.log'}")
        time.sleep(0.2)
    print(f"server up in {time.perf_counter() - started:.1f} s (model load included)")

    ingesting = threading.Event()
    results: list[tuple[float, bool, bool]] = []  # (ms, during ingest, error)
    lock = threading.Lock()

    def writer() -> None:
        ingesting.set()
        if args.chroma_url:
            subprocess.run([str(BIN / "articlebot"), "ingest", str(extra), "--json"], env=env, check=True,
                           stdout=subprocess.DEVNULL)
        else:
            with httpx.Client(timeout=600, headers={"Authorization": f"Bearer {KEY}"}) as client:
                for path in sorted(extra.iterdir()):
                    title, text = path.read_text("utf-8").split("\n\n", 1)
                    client.post(f"{url}/api/v1/articles", json={"title": title, "text": text}).raise_for_status()
        ingesting.clear()

    def asker(offset: int) -> None:
        with httpx.Client(timeout=120) as client:
            for i in range(args.questions):
                question = questions[(offset * args.questions + i) % len(questions)]
                during = ingesting.is_set()
                t = time.perf_counter()
                try:
                    error = client.post(f"{url}/api/v1/ask", json={"question": question}).status_code != 200
                except httpx.HTTPError:
                    error = True
                with lock:
                    results.append(((time.perf_counter() - t) * 1000, during and ingesting.is_set(), error))

    write_thread = threading.Thread(target=writer)
    t0 = time.perf_counter()
    write_thread.start()
    askers = [threading.Thread(target=asker, args=(c,)) for c in range(args.clients)]
    for thread in askers:
        thread.start()
    for thread in askers:
        thread.join()
    asked = time.perf_counter() - t0
    write_thread.join()
    ingest_seconds = time.perf_counter() - t0
    count = httpx.get(f"{url}/api/v1/health").json()["articles"]
    server.terminate()
    server.wait(30)

    def line(label: str, rows: list[tuple[float, bool, bool]]) -> str:
        if not rows:
            return f"{label}: none"
        ms = np.array([r[0] for r in rows])
        return (f"{label}: {len(rows)} questions, p50 {np.percentile(ms, 50):.0f} ms, p95 "
                f"{np.percentile(ms, 95):.0f} ms, p99 {np.percentile(ms, 99):.0f} ms, max {ms.max():.0f} ms, "
                f"errors {sum(r[2] for r in rows)}")

    print(f"{args.clients} clients x {args.questions} questions in {asked:.1f} s "
          f"({len(results) / asked:.1f} questions/s); {args.articles} articles ingested meanwhile in "
          f"{ingest_seconds:.1f} s; {count} articles at the end")
    print(line("all", results))
    print(line("during the ingest", [r for r in results if r[1]]))


if __name__ == "__main__":
    main()
