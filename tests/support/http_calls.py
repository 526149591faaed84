"""The tests' one-off HTTP calls: httpx's functions, with one TLS context for the process.

``httpx.get`` and ``httpx.post`` build a client for each call, and each client its TLS
context: the CA certificates parsed again, 18 ms of CPU, where the request itself to a local
server takes 0.8 ms. The suite makes thousands of such calls (every readiness poll of every
server it starts, the e2e requests), so these pass one context, made once, to every call.
"""

from __future__ import annotations

from typing import Any

import httpx

_TLS = httpx.create_ssl_context()


def http_request(method: str, url: str, **kwargs: Any) -> httpx.Response:
    """``httpx.request``, with this process's TLS context."""
    kwargs.setdefault("verify", _TLS)
    return httpx.request(method, url, **kwargs)


def http_get(url: str, **kwargs: Any) -> httpx.Response:
    """``httpx.get``, with this process's TLS context."""
    return http_request("GET", url, **kwargs)


def http_post(url: str, **kwargs: Any) -> httpx.Response:
    """``httpx.post``, with this process's TLS context."""
    return http_request("POST", url, **kwargs)
