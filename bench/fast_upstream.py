"""A fast OpenAI-compatible upstream for benchmarks: raw asyncio protocol, HTTP/1.1 keep-alive,
JSON and SSE, answers at once. `python -m bench.fast_upstream PORT`."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any


class Upstream(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: Any = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = self.buffer[:head_end].decode("latin-1")
            length = 0
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            if len(self.buffer) < head_end + 4 + length:
                return
            body = self.buffer[head_end + 4: head_end + 4 + length]
            self.buffer = self.buffer[head_end + 4 + length:]
            self.respond(json.loads(body) if body else {})

    def respond(self, req: dict[str, Any]) -> None:
        n = int(req.get("max_tokens") or 16)
        model = req.get("model", "fake-model")
        created = int(time.time())
        usage = {"prompt_tokens": 12, "completion_tokens": n, "total_tokens": 12 + n}
        if not req.get("stream"):
            body = json.dumps({
                "id": "chatcmpl-bench", "object": "chat.completion", "created": created, "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "tok " * n},
                             "finish_reason": "length"}], "usage": usage}).encode()
            self.transport.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s"
                                 % (len(body), body))
            return
        base = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": created, "model": model}
        parts = [json.dumps({**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""},
                                                  "finish_reason": None}]})]
        parts += [json.dumps({**base, "choices": [{"index": 0, "delta": {"content": "tok "}, "finish_reason": None}]})
                  for _ in range(n)]
        parts.append(json.dumps({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "length"}]}))
        if (req.get("stream_options") or {}).get("include_usage"):
            parts.append(json.dumps({**base, "choices": [], "usage": usage}))
        payload = b"".join(b"data: " + p.encode() + b"\n\n" for p in parts) + b"data: [DONE]\n\n"
        self.transport.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: %d\r\n\r\n%s"
                             % (len(payload), payload))


def main() -> None:
    port = int(sys.argv[1])
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(loop.create_server(Upstream, "127.0.0.1", port, backlog=4096))
    print(f"fast upstream on 127.0.0.1:{port}", flush=True)
    loop.run_until_complete(server.serve_forever())


if __name__ == "__main__":
    main()
