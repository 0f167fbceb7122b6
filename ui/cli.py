"""``articlebot``: the command line. Imports are lazy so ``--help`` answers at once."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.service import Bot
    from ui.settings import Settings

DEMO_DIR = Path(__file__).parent / "demo_articles"


def positive_int(text: str) -> int:
    """argparse type: a whole number of at least 1 (refused with a one-line reason before anything loads)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is too small (at least 1)")
    return value


def port_number(text: str) -> int:
    value = positive_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port (1-65535)")
    return value


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as package_version

    try:
        return package_version("articlebot")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    # --data-dir is accepted before and after the subcommand: each subparser knows it too, with a
    # suppressed default so that an absent one does not overwrite the value given before.
    data_dir = argparse.ArgumentParser(add_help=False)
    data_dir.add_argument("--data-dir", type=Path, default=argparse.SUPPRESS, metavar="DIR",
                          help="data directory (default: $ARTICLEBOT_HOME or the platform's user data dir)")
    parser = argparse.ArgumentParser(
        prog="articlebot", parents=[data_dir],
        description="Answers questions about a collection of articles, quoting the sentence that backs "
                    "each answer.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help, description=help[0].upper() + help[1:] + ".",
                              parents=[data_dir])

    p = command("ingest", "add or update articles from files and folders (.txt .md .html .pdf, MediaWiki .xml "
                          "exports) and URLs")
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="a file, a folder (read recursively), or a web page or feed address")
    p.add_argument("--json", action="store_true", help="print the results as JSON")

    p = command("sync", "bring feeds, sitemaps, pages and MediaWiki wikis (api.php) up to date")
    p.add_argument("sources", nargs="+", metavar="SOURCE", help="a feed, sitemap or page URL, or a wiki's api.php")
    p.add_argument("--prune", action="store_true",
                   help="delete the articles a sitemap or wiki no longer lists (feeds are never pruned)")
    p.add_argument("--namespace", type=int, action="append", metavar="N",
                   help="wiki namespace to read (repeatable; default 0, the articles)")
    p.add_argument("--json", action="store_true", help="print the reports as JSON")

    p = command("ask", "answer a question from the articles")
    p.add_argument("question", help="the question, in any language of the articles")
    p.add_argument("-k", type=positive_int, default=None, metavar="N",
                   help="chunks to read (default from settings)")
    p.add_argument("--json", action="store_true", help="print the answer as JSON")

    command("chat", "chat in the terminal: follow-up questions, answers streamed as written")

    p = command("list", "list the articles")
    p.add_argument("--json", action="store_true", help="print the articles as JSON")

    p = command("show", "print an article's details and text")
    p.add_argument("id", help="the article's id (see `articlebot list`)")
    p.add_argument("--json", action="store_true", help="print the article as JSON")

    p = command("delete", "delete an article by id")
    p.add_argument("id", help="the article's id (see `articlebot list`)")

    command("reindex", "rebuild the index from the stored articles (e.g. after a model change)")

    p = command("demo", "ingest the bundled demo articles, then chat in the terminal")
    p.add_argument("--web", action="store_true", help="open the web chat instead of the terminal prompt")
    p.add_argument("--host", default=None, help="with --web: the address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=port_number, default=None, help="with --web: the port (default 7860)")

    p = command("serve", "serve the web chat and the HTTP API")
    p.add_argument("--host", default=None, help="the address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=port_number, default=None, help="the port (default 7860)")

    p = command("eval", "measure retrieval and answers on a benchmark folder")
    p.add_argument("dir", type=Path, help="a benchmark folder (e.g. ../shared/bench/dev)")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.add_argument("--limit", type=positive_int, default=None, metavar="N",
                   help="questions per slice (quick run)")
    p.add_argument("--report", type=Path, default=None, metavar="PATH", help="write an HTML report here")
    p.add_argument("--mode", default=None, help="one system: hybrid, dense, bm25 or baseline (default: all "
                                                "of them)")
    p.add_argument("--mixed", action="store_true",
                   help="also ask each slice of one collection mixing its passages with other languages and "
                        "topics (slices NAME@mixed)")
    p.add_argument("--small", action="store_true",
                   help="also ask every question of a small collection: its article among 0-9 others "
                        "(slices NAME@small)")
    p.add_argument("--skip-standard", action="store_true",
                   help="skip the one-corpus collections (e.g. a second process running --small alone)")
    p.add_argument("--answerer", choices=("extractive", "openai", "ollama"), default=None,
                   help="answer through this answerer (default: ARTICLEBOT_ANSWERER); openai/ollama use "
                        "ARTICLEBOT_LLM_* and run the default retrieval mode only, with citation precision")
    return parser


def load_settings(data_dir: Path | None) -> Settings:
    from pydantic import ValidationError

    from index.errors import InputError
    from ui.settings import Settings

    try:
        settings = Settings()
    except ValidationError as exc:
        reasons = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
        raise InputError(f"Bad settings: {reasons}", "Fix the ARTICLEBOT_* environment variables.") from exc
    if data_dir is not None:
        settings = settings.model_copy(update={"home": data_dir.expanduser()})
    return settings


def open_bot(settings: Settings) -> Bot:
    from bot.service import Bot
    from ui.progress import Bar

    return Bot.open(settings.home, settings.index, settings.bot, progress=Bar("model"),
                    chroma_url=settings.chroma_url)


def source_location(url: str, article_id: str) -> str:
    """Where the reader can open a source: its web address or file path, else how to print it."""
    from ui.links import origin, web_url

    if web_url(url) or Path(url).is_absolute():
        return url
    return f"{origin(url)} (articlebot show {article_id})"


def print_answer(answer: Any, as_json: bool, text: bool = True) -> None:
    if as_json:
        print(json.dumps(answer.to_json(), ensure_ascii=False, indent=2))
        return
    if text:
        print(answer.answer)
    if answer.note:
        print(f"({answer.note})")
    for s in answer.sources:
        print(f"  [{s.n}] {s.title} — {source_location(s.url, s.article_id)}"
              + (f" ({s.published[:10]})" if s.published else ""))
        print(f"      “{s.quote}”")


def result_line(r: Any) -> str:
    detail = f"{r.title} ({r.chunks} chunks, id {r.article_id})" if r.status not in ("failed", "skipped") else r.reason
    return f"{r.status:9} {r.source}: {detail}"


def cmd_ingest(bot: Bot, args: argparse.Namespace) -> int:
    from ui.progress import Bar

    if args.json:
        results = bot.ingest(args.paths)
        print(json.dumps([r.to_json() for r in results], ensure_ascii=False, indent=2))
    else:
        # One line per article as soon as it is committed: a long ingest shows what is already searchable.
        results = bot.ingest(args.paths, progress=Bar("ingest"),
                             on_result=lambda r: print(result_line(r), flush=True))
        counts = {s: sum(r.status == s for r in results)
                  for s in ("added", "updated", "unchanged", "failed", "duplicate", "skipped")}
        print(", ".join(f"{n} {s}" for s, n in counts.items()))
    return 1 if any(r.status == "failed" for r in results) else 0


def cmd_sync(bot: Bot, args: argparse.Namespace) -> int:
    from ui.progress import Bar

    if args.json:
        reports = bot.sync(args.sources, args.prune, args.namespace or [0])
        print(json.dumps([r.to_json() for r in reports], ensure_ascii=False, indent=2))
    else:
        def show(result: Any) -> None:  # unchanged items are only counted: a nightly log shows what changed
            if result.status != "unchanged":
                print(result_line(result), flush=True)

        reports = bot.sync(args.sources, args.prune, args.namespace or [0], progress=Bar("sync"), on_result=show)
        for report in reports:
            print(report.summary())
    return 1 if any(r.status == "failed" for report in reports for r in report.results) else 0


def cmd_list(bot: Bot, args: argparse.Namespace) -> int:
    rows = [{"id": a.id, "title": a.title, "language": a.language, "chunks": a.chunks,
             "source": a.source, "ingested_at": a.ingested_at} for a in bot.articles()]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    elif not rows:
        print("No articles yet. Add some with: articlebot ingest PATH")
    else:
        for r in rows:
            print(f"{r['id']}  {r['language']}  {r['chunks']:3} chunks  {r['ingested_at'][:10]}  {r['title']}")
    return 0


def stream_answer(bot: Bot, question: str, history: list[dict[str, str]]) -> Any:
    """Print the answer as it is written, then, when the check changed it, the checked answer; the sources."""
    from bot.types import Answer

    shown = ""
    for piece in bot.stream(question, history):
        if isinstance(piece, Answer):
            if shown:
                print()
            if piece.answer.strip() != shown.strip():
                if shown:
                    print("checked:" if not piece.note else "instead:")
                print(piece.answer)
            print_answer(dataclasses.replace(piece, answer=""), as_json=False, text=False)
            return piece
        shown += piece
        print(piece, end="", flush=True)
    raise AssertionError("the stream ended without an answer")


def cmd_show(bot: Bot, args: argparse.Namespace) -> int:
    article = bot.article(args.id)
    if args.json:
        print(json.dumps({"id": article.id, "title": article.title, "url": article.url, "source": article.source,
                          "language": article.language, "published": article.published, "author": article.author,
                          "ingested_at": article.ingested_at, "chunks": article.chunks, "text": article.text},
                         ensure_ascii=False, indent=2))
        return 0
    print(article.title)
    print(f"{source_location(article.url, article.id)} · {article.language} · "
          f"{article.published or 'added ' + article.ingested_at[:10]} · {article.chunks} chunks · id {article.id}")
    print()
    print(article.text)
    return 0


def chat_loop(bot: Bot) -> int:
    from index.errors import ArticlebotError

    print("Ask a question about the articles (empty line or Ctrl-D to quit).")
    history: list[dict[str, str]] = []
    while True:
        try:
            question = input("\n? ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if not question:
            return 0
        try:
            answer = stream_answer(bot, question, history)
        except ArticlebotError as exc:  # one bad question does not end the chat
            print(f"articlebot: {exc}", file=sys.stderr)
            continue
        history += [{"role": "user", "content": question}, {"role": "assistant", "content": answer.answer}]


def cmd_serve(bot: Bot, settings: Settings, host: str | None, port: int | None) -> int:
    from ui.server import serve

    serve(bot, settings, host or settings.serve.host, port or settings.serve.port)
    return 0


def run(args: argparse.Namespace) -> int:
    if args.command == "ask":
        from bot.inputs import checked_question

        checked_question(args.question)  # an empty question is refused before anything loads
    settings = load_settings(getattr(args, "data_dir", None))
    if args.command == "eval":
        from ui.evalcmd import cmd_eval

        return cmd_eval(settings, args)
    # The model loads on the first embedding: list, show and delete never load it.
    bot = open_bot(settings)
    if args.command != "reindex" and bot.library.lacks_sentence_vectors():
        print("note: this library was built before sentence vectors were stored; answers work, and "
              "`articlebot reindex` makes them better.", file=sys.stderr)
    if args.command == "ingest":
        return cmd_ingest(bot, args)
    if args.command == "sync":
        return cmd_sync(bot, args)
    if args.command == "ask":
        print_answer(bot.ask(args.question, k=args.k), args.json)
        return 0
    if args.command == "list":
        return cmd_list(bot, args)
    if args.command == "show":
        return cmd_show(bot, args)
    if args.command == "delete":
        article = bot.delete(args.id)
        print(f"deleted {article.id}: {article.title}")
        return 0
    if args.command == "reindex":
        from ui.progress import Bar

        n = bot.reindex(Bar("reindex"))
        print(f"reindexed {n} articles with {bot.embedder.name}")
        return 0
    if args.command == "demo":
        from ui.progress import Bar

        bot.load_model()
        results = bot.ingest([str(DEMO_DIR)], progress=Bar("demo articles"))
        print(f"{len(results)} demo articles ready in {settings.home}")
        if args.web:
            return cmd_serve(bot, settings, args.host, args.port)
        return chat_loop(bot)
    if args.command == "serve":
        bot.load_model()  # before the first question, not during it
        return cmd_serve(bot, settings, args.host, args.port)
    if args.command == "chat":
        return chat_loop(bot)
    raise AssertionError(args.command)


def main(argv: Sequence[str] | None = None) -> int:
    # Nothing may reach a model hub or send analytics, wherever the app starts.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    args = build_parser().parse_args(argv)
    from index.errors import ArticlebotError

    try:
        return run(args)
    except ArticlebotError as exc:
        print(f"articlebot: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; re-run the same command to finish (writes are idempotent).", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
