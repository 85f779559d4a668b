"""The HTTP client for the Bot API: aiohttp behind python-telegram-bot's `BaseRequest`.

python-telegram-bot's default client (httpx) costs about 1.3 ms of CPU a call here, aiohttp about
0.4 ms (bench/latency.py's burst, where sending is most of the bot's work, showed it). The class
follows the design of ptbcontrib's `AiohttpRequest`, which is not on PyPI: python-telegram-bot
builds each request and reads each answer; this only carries bytes, and turns aiohttp's failures
into the library's `TimedOut` and `NetworkError`, so the retries work as with httpx.

A few connections, and calls beyond them wait their turn: hundreds of chats answered at once go
out just as fast over eight busy connections.
"""

from __future__ import annotations

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

CONNECTIONS = 8  # calls to the Bot API in flight at once
CONNECT_SECONDS = 5.0
READ_SECONDS = 5.0  # for an answer (getUpdates adds its long-poll timeout to this)
UPLOAD_SECONDS = 30.0  # a chart or PDF on its way up


class AiohttpRequest(BaseRequest):
    def __init__(self, connections: int = CONNECTIONS, read_seconds: float = READ_SECONDS) -> None:
        self._connections = connections
        self._read_seconds = read_seconds
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float:
        return self._read_seconds

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            # Made here, on the running loop; `pool timeout` has no meaning: calls queue for a connection.
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=self._connections),
                                                  headers={"User-Agent": self.USER_AGENT})

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout=BaseRequest.DEFAULT_NONE, write_timeout=BaseRequest.DEFAULT_NONE,
                         connect_timeout=BaseRequest.DEFAULT_NONE, pool_timeout=BaseRequest.DEFAULT_NONE,
                         ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("AiohttpRequest is not initialized")
        files = request_data is not None and request_data.contains_files
        timeout = aiohttp.ClientTimeout(
            total=UPLOAD_SECONDS if files else None,
            sock_connect=chosen(connect_timeout, CONNECT_SECONDS),
            sock_read=chosen(read_timeout, self._read_seconds),
        )
        data, headers = body(request_data)
        try:
            async with self._session.request(method, url, data=data, headers=headers,
                                             timeout=timeout) as answer:
                return answer.status, await answer.read()
        except aiohttp.ConnectionTimeoutError as error:
            raise TimedOut("Timed out connecting to Telegram; the request was not sent") from error
        except TimeoutError as error:  # waiting for the answer: the request may have arrived
            raise TimedOut from error
        except aiohttp.ClientError as error:
            raise NetworkError(f"aiohttp.{type(error).__name__}: {error}") from error


def chosen(value, default: float) -> float | None:
    return default if isinstance(value, type(BaseRequest.DEFAULT_NONE)) else value


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def body(request_data: RequestData | None) -> tuple[bytes | aiohttp.FormData | None, dict[str, str]]:
    """The call's parameters as python-telegram-bot encodes them: a form, with files as parts."""
    if request_data is None:
        return None, {}
    if not request_data.contains_files:  # most calls: encoded directly, no multipart machinery
        return request_data.url_encoded_parameters().encode(), FORM
    data = aiohttp.FormData(request_data.json_parameters)
    for name, (filename, content, mime_type) in request_data.multipart_data.items():
        data.add_field(name, content, filename=filename, content_type=mime_type)
    return data, {}
