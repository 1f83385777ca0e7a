"""TLS upstreams go out on pyreqwest, loaded only when one is called; its failures map to `UpstreamError`s."""

from __future__ import annotations

import asyncio
import shutil
import socket
import ssl
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from adapters.providers.upstream_http import UpstreamClient, post_json, post_stream
from domain.errors import UpstreamUnavailableError
from domain.ports import Timeouts

ROOT = Path(__file__).resolve().parents[3]
TIMEOUTS = Timeouts(connect_s=2.0, first_byte_s=5.0, idle_s=5.0)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_pyreqwest_is_loaded_only_when_a_tls_upstream_is_called() -> None:
    script = textwrap.dedent(f"""
        import asyncio, sys
        from adapters.providers.upstream_http import UpstreamClient, post_json
        from domain.errors import UpstreamUnavailableError
        from domain.ports import Timeouts

        async def main():
            async def answer(reader, writer):
                await reader.readuntil(b"\\r\\n\\r\\n")
                await reader.readexactly(2)
                writer.write(b"HTTP/1.1 200 OK\\r\\ncontent-length: 11\\r\\n\\r\\n{{\\"ok\\":true}}")
                await writer.drain()
                writer.close()
            server = await asyncio.start_server(answer, "127.0.0.1", 0)
            port = server.sockets[0].getsockname()[1]
            client = UpstreamClient(connect_s=2.0)
            t = Timeouts(connect_s=2.0, first_byte_s=5.0, idle_s=5.0)
            assert await post_json(client, f"http://127.0.0.1:{{port}}/v1", {{}}, {{}}, t) == {{"ok": True}}
            print("plain", "pyreqwest" in sys.modules)
            try:
                await post_json(client, "https://127.0.0.1:{closed_port()}/v1", {{}}, {{}}, t)
            except UpstreamUnavailableError as e:
                print("tls", "pyreqwest" in sys.modules, e.cause)
            await client.close()
            server.close()

        asyncio.run(main())
    """)
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:2] == ["plain False", "tls True connect"]


def test_a_tls_upstream_that_refuses_the_connection_is_unavailable_for_calls_and_streams() -> None:
    url = f"https://127.0.0.1:{closed_port()}/v1/chat/completions"

    async def scenario() -> None:
        client = UpstreamClient(connect_s=2.0)
        try:
            with pytest.raises(UpstreamUnavailableError) as called:
                await post_json(client, url, {"model": "m"}, {}, TIMEOUTS)
            with pytest.raises(UpstreamUnavailableError) as streamed:
                await post_stream(client, url, {"model": "m", "stream": True}, {}, TIMEOUTS)
        finally:
            await client.close()
        assert called.value.cause == streamed.value.cause == "connect"
        assert "127.0.0.1" not in called.value.message  # names the failure, not where

    asyncio.run(scenario())


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make a certificate")
def test_a_tls_upstream_whose_certificate_is_not_trusted_is_refused_before_anything_is_sent(tmp_path: Path) -> None:
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True, timeout=60)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    received: list[bytes] = []

    async def scenario() -> None:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                received.append(await reader.read(1024))
            except (ssl.SSLError, ConnectionError):
                pass
            finally:
                writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=context)
        port = server.sockets[0].getsockname()[1]
        client = UpstreamClient(connect_s=2.0)
        try:
            with pytest.raises(UpstreamUnavailableError) as refused:
                await post_json(client, f"https://127.0.0.1:{port}/v1/chat/completions", {"model": "m"},
                                {"authorization": "Bearer sk-secret"}, TIMEOUTS)
        finally:
            await client.close()
            server.close()
        assert refused.value.cause == "connect"
        assert b"sk-secret" not in b"".join(received)  # the key never left: the handshake failed first

    asyncio.run(scenario())
