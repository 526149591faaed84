"""The production ``fetch`` given to providers that must reach their sender: SNS signing
certificates and subscription confirmations (``providers.base.Fetch``).

A plain GET with short timeouts, no redirects (a redirect could leave the allowed hosts the
provider checked the URL against) and a bounded answer; every failure is an OSError, which the
provider turns into a refusal. It runs inside a webhook request, before the answer: SNS gives
up on a request after 15 s, so each step is bounded well below that.
"""

from __future__ import annotations

import httpx

#: the largest answer read: a certificate is a few kilobytes, a confirmation's XML less
MAX_BYTES = 256 * 1024


def fetch(url: str, *, timeout_seconds: float = 3.0) -> bytes:
    """Return the body of ``GET url``; raise OSError on any failure or a non-2xx answer."""
    timeout = httpx.Timeout(timeout_seconds, connect=min(2.0, timeout_seconds))
    try:
        with httpx.stream("GET", url, timeout=timeout, follow_redirects=False) as response:
            if not response.is_success:
                raise OSError(f"GET {url}: HTTP {response.status_code}")
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > MAX_BYTES:
                    raise OSError(f"GET {url}: answer longer than {MAX_BYTES} bytes")
                chunks.append(chunk)
            return b"".join(chunks)
    except httpx.HTTPError as error:
        raise OSError(f"GET {url} failed: {type(error).__name__}") from error
