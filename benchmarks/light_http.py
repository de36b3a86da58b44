"""A minimal HTTP/1.1 keep-alive client for the server benchmark's simulated annotators.

The clients share the machine's two cores with the server they measure. ``httpx`` spent about
1 ms of CPU on each request here (0.98 ms, against 0.39 for ``http.client``), a fifth of all
the CPU the machine had under load, so the load it generated cost the server what it measured.
This client does only what the benchmark needs: one connection per client, kept alive, requests
with a JSON body or none, responses framed by ``Content-Length`` or chunked. ``wrk`` and ``hey``
exist for the same reason; they cannot do the benchmark's read-modify-write with ``If-Match``.
"""

from __future__ import annotations

import json as jsonlib
import socket
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

__all__ = ["LightClient", "LightResponse"]


class LightResponse:
    """What ``httpx.Response`` offers that the benchmark reads."""

    def __init__(self, status_code: int, headers: dict[str, str], content: bytes) -> None:
        self.status_code = status_code
        self.headers = headers
        self.content = content

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return jsonlib.loads(self.content)


class LightClient:
    """One kept-alive connection to ``base`` (``http://host:port``); not thread-safe."""

    def __init__(self, base: str, headers: dict[str, str] | None = None, timeout: float = 30):
        parts = urlsplit(base)
        if parts.scheme != "http" or parts.hostname is None or parts.port is None:
            raise ValueError(f"LightClient needs http://host:port, got {base!r}")
        self.address = (parts.hostname, parts.port)
        self.host = f"{parts.hostname}:{parts.port}"
        self.headers = dict(headers or {})
        self.timeout = timeout
        self.sock: socket.socket | None = None
        self.buffer = b""

    def __enter__(self) -> LightClient:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock, self.buffer = None, b""

    def get(self, path: str, **kwargs: Any) -> LightResponse:
        return self.request("GET", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> LightResponse:
        return self.request("PUT", path, **kwargs)

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        headers: dict[str, str] | None = None,
    ) -> LightResponse:
        """Send one request and read its whole response (``OSError`` when the link fails)."""
        body = b"" if json is None else jsonlib.dumps(json, separators=(",", ":")).encode()
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}"]
        lines += [f"{k}: {v}" for k, v in {**self.headers, **(headers or {})}.items()]
        if json is not None:
            lines.append("Content-Type: application/json")
        if body or method in {"POST", "PUT", "PATCH"}:
            lines.append(f"Content-Length: {len(body)}")
        if self.sock is None:
            self.sock = socket.create_connection(self.address, timeout=self.timeout)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
            response = self._read_response(method)
        except BaseException:
            self.close()
            raise
        if response.headers.get("connection", "").lower() == "close":
            self.close()
        return response

    def _read_response(self, method: str) -> LightResponse:
        head = self._read_until(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        headers: dict[str, str] = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if method == "HEAD" or status in {204, 304}:
            return LightResponse(status, headers, b"")
        if headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while size := int(self._read_until(b"\r\n").split(b";")[0], 16):
                chunks.append(self._read_exactly(size))
                self._read_exactly(2)
            self._read_until(b"\r\n")  # no trailers are sent to the benchmark
            return LightResponse(status, headers, b"".join(chunks))
        if "content-length" not in headers:
            raise OSError(f"HTTP {status} with neither Content-Length nor chunks")
        return LightResponse(status, headers, self._read_exactly(int(headers["content-length"])))

    def _fill(self) -> None:
        assert self.sock is not None
        more = self.sock.recv(65536)
        if not more:
            raise ConnectionError("the server closed the connection")
        self.buffer += more

    def _read_until(self, mark: bytes) -> bytes:
        while (end := self.buffer.find(mark)) < 0:
            self._fill()
        found, self.buffer = self.buffer[:end], self.buffer[end + len(mark) :]
        return found

    def _read_exactly(self, size: int) -> bytes:
        while len(self.buffer) < size:
            self._fill()
        found, self.buffer = self.buffer[:size], self.buffer[size:]
        return found
