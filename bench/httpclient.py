"""A tiny keep-alive HTTP/1.1 client on raw asyncio streams: cheap enough to load the server, not itself.

httpx spends more CPU per request than the server does on a trivial route; this client parses only the
status line, `content-length` and the body. Its own ceiling is measured (`bench.loadgen ceiling`) and
printed next to wrk's so the reader can see that it does not limit the scenarios it drives.
"""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlsplit

import orjson


class HttpError(RuntimeError):
    """The server answered something this client cannot read."""


class Connection:
    """One keep-alive connection to `base_url`; requests on it are sequential."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.host_header = f"{self.host}:{self.port}".encode()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._reader is None or self._writer is None or self._writer.is_closing():
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        return self._reader, self._writer

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: object | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        """Send one request and return (status, body); reconnects once if the server closed."""
        body = orjson.dumps(json) if json is not None else b""
        head = [f"{method} {path} HTTP/1.1".encode(), b"host: " + self.host_header]
        for name, value in (headers or {}).items():
            head.append(f"{name}: {value}".encode())
        if json is not None:
            head.append(b"content-type: application/json")
        head.append(b"content-length: " + str(len(body)).encode())
        raw = b"\r\n".join(head) + b"\r\n\r\n" + body
        for attempt in (0, 1):
            reader, writer = await self._connect()
            try:
                writer.write(raw)
                return await self._read(reader)
            except (ConnectionError, asyncio.IncompleteReadError):
                await self.close()
                if attempt:
                    raise
        raise HttpError("unreachable")

    async def _read(self, reader: asyncio.StreamReader) -> tuple[int, bytes]:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length = -1
        chunked = False
        close = False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            lname = name.strip().lower()
            if lname == b"content-length":
                length = int(value)
            elif lname == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
            elif lname == b"connection" and b"close" in value.lower():
                close = True
        if chunked:
            body = await self._read_chunked(reader)
        elif length >= 0:
            body = await reader.readexactly(length)
        else:
            raise HttpError("response without content-length")
        if close:
            await self.close()
        return status, body

    @staticmethod
    async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                return b"".join(parts)
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)

    async def close(self) -> None:
        """Close the socket (idempotent)."""
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await self._writer.wait_closed()
        self._reader = self._writer = None
