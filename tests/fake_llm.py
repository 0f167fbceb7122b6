"""A fake OpenAI-compatible chat server on 127.0.0.1 (a free port), for the generative answerer's tests.

Each request to POST /v1/chat/completions takes the next behaviour from ``script`` (the last one repeats):
a reply text (plain or streamed as server-sent events, word by word), or a failure: ``SLOW`` (answers after
the client gave up), ``ERROR`` (HTTP 500), ``MALFORMED`` (a body that is not the protocol's JSON), ``EMPTY``
(an empty answer), ``ENDLESS`` (a stream that never finishes). Requests are recorded for assertions.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SLOW, ERROR, MALFORMED, EMPTY, ENDLESS = "<slow>", "<error>", "<malformed>", "<empty>", "<endless>"


class FakeOpenAI:
    def __init__(self) -> None:
        self.script: list[str] = []
        self.requests: list[dict[str, Any]] = []
        self.stop = threading.Event()  # ends slow and endless answers when the test is over
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def next_behaviour(self, body: dict[str, Any]) -> str:
        with self.lock:
            self.requests.append(body)
            return self.script.pop(0) if len(self.script) > 1 else self.script[0]

    def prompts(self) -> list[str]:
        """Each request's messages joined, in order."""
        return ["\n".join(str(m["content"]) for m in r["messages"]) for r in self.requests]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet test output
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                behaviour = fake.next_behaviour(body)
                if behaviour == SLOW:
                    fake.stop.wait(30)
                    return
                if behaviour == ERROR:
                    self._send(500, b'{"error": {"message": "model crashed", "type": "server_error"}}')
                    return
                if behaviour == MALFORMED:
                    self._send(200, b"<html>this is not JSON</html>", "text/html")
                    return
                text = "" if behaviour == EMPTY else behaviour
                if body.get("stream"):
                    self._stream(text, endless=behaviour == ENDLESS)
                else:
                    self._send(200, json.dumps(completion(text)).encode())

            def _send(self, status: int, data: bytes, kind: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, text: str, endless: bool) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                try:
                    if endless:
                        while not fake.stop.wait(0.01):
                            self._event(chunk("la "))
                        return
                    for piece in re.findall(r"\S+\s*", text):
                        self._event(chunk(piece))
                    self._event(chunk("", finish="stop"))
                    self.wfile.write(b"data: [DONE]\n\n")
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    return  # the client gave up

            def _event(self, data: dict[str, Any]) -> None:
                self.wfile.write(f"data: {json.dumps(data)}\n\n".encode())
                self.wfile.flush()

        return Handler

    def start(self) -> None:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.stop.set()
        self.server.shutdown()
        self.server.server_close()


def completion(text: str) -> dict[str, Any]:
    return {"id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": "fake",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}


def chunk(text: str, finish: str | None = None) -> dict[str, Any]:
    return {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 0, "model": "fake",
            "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": finish}]}


@contextmanager
def fake_openai() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI()
    fake.start()
    try:
        yield fake
    finally:
        fake.close()
