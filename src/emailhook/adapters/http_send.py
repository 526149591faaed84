"""Provider calls of the send pipeline over HTTP: a send side's request out, its answer back,
and each failure sorted by what the provider can have seen.

``NotSentError``: the request never reached the provider (no connection): safe to send again.
``AmbiguousError``: it may have (a timeout or a lost answer after the request was written):
the provider must be asked before anything is sent again.
"""

from __future__ import annotations

import httpx

from emailhook.providers.sending import HttpAnswer, HttpRequest


class NotSentError(ConnectionError):
    """The provider certainly did not get the request."""


class AmbiguousError(TimeoutError):
    """The provider may have got (and acted on) the request; its answer is unknown."""


class HttpSender:
    """One connection pool per process; ``timeout`` bounds each call."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._client = httpx.Client(timeout=httpx.Timeout(timeout), follow_redirects=False)

    def __call__(self, request: HttpRequest) -> HttpAnswer:
        try:
            answer = self._client.request(
                request.method, request.url, headers=dict(request.headers), content=request.body
            )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as error:
            raise NotSentError(f"{type(error).__name__}: {error}") from error
        except httpx.HTTPError as error:
            raise AmbiguousError(f"{type(error).__name__}: {error}") from error
        return HttpAnswer(
            answer.status_code,
            {name.lower(): value for name, value in answer.headers.items()},
            answer.content,
        )

    def close(self) -> None:
        self._client.close()
