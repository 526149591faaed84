"""A client of Infobip's HTTP API for what this service pulls and pushes: e-mail logs
(reconciliation), the e-mail suppression list and the blocklist (suppression sync).

Every call is paced per endpoint under Infobip's documented limits, retried a bounded number
of times on 429, 5xx and network errors (Infobip documents no Retry-After, so none is read),
and any answer that is not the JSON expected (an HTML error page, a truncated body, a
cursor that never ends) raises :class:`InfobipApiError` with the status and a short reason.
The API key is sent in a header only: it is never in a URL, a message or a ``repr``.
Facts: ``/work/shared/docs/infobip-pull-and-channels.md``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from emailhook.adapters.infobip.answers import (
    RETRIED_STATUSES,
    InfobipApiError,
    decoded_answer,
    transport_reason,
)
from emailhook.adapters.infobip.rate_limit import Backoff, Clock, RateLimiter, Sleep

log = logging.getLogger(__name__)

#: requests a second allowed per endpoint family (Infobip's documented limits)
RATE_LIMITS: Mapping[str, float] = {
    "logs": 120 / 60,  #: GET /email/4/logs: 120 a minute
    "suppressions": 100.0,  #: /email/1/suppressions and its domains: 100 a second
    "blocklist": 1.0,  #: GET /platform/1/blocklists: 1 a second
}
#: the most each page may hold, per Infobip's spec
LOGS_LIMIT = 1000
SUPPRESSIONS_PAGE_SIZE = 1000
BLOCKLIST_PAGE_SIZE = 1000
DOMAINS_PAGE_SIZE = 100
#: POST /email/1/suppressions: addresses per entry, entries per request
ADDRESSES_PER_ENTRY = 1000
ENTRIES_PER_REQUEST = 10
#: pages read in one listing before giving up: 48 h of logs at 1000 a page is 10 million sends
DEFAULT_MAX_PAGES = 10_000
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
LOGS_PATH = "/email/4/logs"


def infobip_instant(value: datetime) -> str:
    """Return ``value`` as Infobip's query parameters write instants:
    ``yyyy-MM-dd'T'HH:mm:ss.SSS+0000`` (in UTC)."""
    if value.tzinfo is None:
        raise ValueError("an aware datetime is needed")
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}+0000"


class InfobipApi:
    """Infobip's API at ``base_url`` with one API key (``Authorization: App <key>``)."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        backoff: Backoff | None = None,
        rate_limits: Mapping[str, float] = RATE_LIMITS,
        max_pages: int = DEFAULT_MAX_PAGES,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        if not api_key.strip():
            raise ValueError("an Infobip API key is needed")
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"App {api_key.strip()}", "Accept": "application/json"},
            timeout=timeout,
            follow_redirects=False,
        )
        self._backoff = backoff or Backoff()
        self._limiters = {
            name: RateLimiter(rate, clock=clock, sleep=sleep) for name, rate in rate_limits.items()
        }
        self._sleep = sleep
        self.max_pages = max_pages

    def __repr__(self) -> str:
        return f"InfobipApi({str(self._http.base_url)!r}, api_key=<hidden>)"

    def __enter__(self) -> InfobipApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # --- e-mail logs --------------------------------------------------------------------

    def iter_email_log_pages(
        self, sent_since: datetime, sent_until: datetime | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """Yield ``GET /email/4/logs`` pages of sends in ``[sent_since, sent_until)``, by
        cursor until Infobip gives none; raise on a cursor seen before or too many pages."""
        params: dict[str, str | int] = {
            "sentSince": infobip_instant(sent_since),
            "limit": LOGS_LIMIT,
            "useCursor": "true",
        }
        if sent_until is not None:
            params["sentUntil"] = infobip_instant(sent_until)
        seen: set[str] = set()
        for _ in range(self.max_pages):
            answer = self._get("logs", LOGS_PATH, params)
            yield _results(answer, LOGS_PATH)
            cursor = _mapping(answer.get("cursor")).get("nextCursor")
            if not isinstance(cursor, str) or not cursor:
                return
            if cursor in seen:
                raise InfobipApiError(
                    None, "cursor repeated: paging would never end", endpoint=LOGS_PATH
                )
            seen.add(cursor)
            params["cursor"] = cursor
        raise InfobipApiError(
            None, f"cursor still going after {self.max_pages} pages", endpoint=LOGS_PATH
        )

    def iter_email_logs(
        self, sent_since: datetime, sent_until: datetime | None = None
    ) -> Iterator[dict[str, Any]]:
        """Yield every log item of sends in ``[sent_since, sent_until)``."""
        for page in self.iter_email_log_pages(sent_since, sent_until):
            yield from page

    # --- suppression list ---------------------------------------------------------------

    def iter_suppression_domains(self) -> Iterator[dict[str, Any]]:
        """Yield the account's sending domains with their suppression permissions."""
        path = "/email/1/suppressions/domains"
        yield from self._pages_until_short("suppressions", path, {}, DOMAINS_PAGE_SIZE)

    def iter_suppressions(self, domain: str, type_: str) -> Iterator[dict[str, Any]]:
        """Yield the suppressions of one type (BOUNCE, COMPLAINT, OVER_QUOTA) of a domain."""
        params = {"domainName": domain, "type": type_}
        yield from self._pages_until_short(
            "suppressions", "/email/1/suppressions", params, SUPPRESSIONS_PAGE_SIZE
        )

    def add_suppressions(self, domain: str, type_: str, emails: Iterable[str]) -> int:
        """Add addresses to a domain's BOUNCE or COMPLAINT list; return requests made."""
        if type_ not in ("BOUNCE", "COMPLAINT"):
            raise ValueError("only BOUNCE and COMPLAINT suppressions can be added")
        return self._send_suppressions("POST", domain, type_, emails)

    def remove_suppressions(self, domain: str, type_: str, emails: Iterable[str]) -> int:
        """Remove addresses from a domain's suppression list; return requests made."""
        if type_ not in ("BOUNCE", "COMPLAINT", "OVER_QUOTA"):
            raise ValueError("type must be BOUNCE, COMPLAINT or OVER_QUOTA")
        return self._send_suppressions("DELETE", domain, type_, emails)

    def _send_suppressions(
        self, method: str, domain: str, type_: str, emails: Iterable[str]
    ) -> int:
        addresses = list(dict.fromkeys(emails))  # order kept, repeats dropped
        entries = [
            {
                "domainName": domain,
                "emailAddress": addresses[i : i + ADDRESSES_PER_ENTRY],
                "type": type_,
            }
            for i in range(0, len(addresses), ADDRESSES_PER_ENTRY)
        ]
        requests = 0
        for i in range(0, len(entries), ENTRIES_PER_REQUEST):
            body = {"suppressions": entries[i : i + ENTRIES_PER_REQUEST]}
            self._call("suppressions", method, "/email/1/suppressions", json=body)
            requests += 1
        return requests

    # --- blocklist ----------------------------------------------------------------------

    def iter_blocklist(self, channel: str = "EMAIL") -> Iterator[dict[str, Any]]:
        """Yield the blocklist entries of ``channel``, page by page up to ``totalPages``."""
        path = "/platform/1/blocklists"
        for page in range(self.max_pages):
            params: dict[str, str | int] = {
                "channel": channel,
                "page": page,
                "size": BLOCKLIST_PAGE_SIZE,
            }
            answer = self._get("blocklist", path, params)
            results = _results(answer, path)
            yield from results
            total = _mapping(answer.get("paging")).get("totalPages")
            if isinstance(total, int) and not isinstance(total, bool):
                if page + 1 >= total:
                    return
            elif len(results) < BLOCKLIST_PAGE_SIZE:
                return
        raise InfobipApiError(None, f"more than {self.max_pages} pages", endpoint=path)

    # --- transport ----------------------------------------------------------------------

    def _pages_until_short(
        self, family: str, path: str, params: Mapping[str, str], size: int
    ) -> Iterator[dict[str, Any]]:
        # These listings give no total (``paging: {page, size}``): a short page is the last.
        for page in range(self.max_pages):
            answer = self._get(family, path, {**params, "page": page, "size": size})
            results = _results(answer, path)
            yield from results
            if len(results) < size:
                return
        raise InfobipApiError(None, f"more than {self.max_pages} pages", endpoint=path)

    def _get(self, family: str, path: str, params: Mapping[str, str | int]) -> dict[str, Any]:
        answer = self._call(family, "GET", path, params=params)
        if not isinstance(answer, dict):
            raise InfobipApiError(200, "answer is not a JSON object", endpoint=path)
        return answer

    def _call(
        self,
        family: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json: object = None,
    ) -> object:
        """Send one request, retrying throttled and failed answers; return its decoded JSON
        (None for an empty success) or raise InfobipApiError."""
        limiter = self._limiters.get(family)
        attempt = 0
        while True:
            if limiter is not None:
                limiter.acquire()
            last = attempt >= self._backoff.retries
            try:
                response = self._http.request(method, path, params=params, json=json)
            except httpx.TransportError as error:
                if last:
                    raise InfobipApiError(None, transport_reason(error), endpoint=path) from error
                log.warning("Infobip %s %s: %s; retrying", method, path, transport_reason(error))
            else:
                if response.status_code not in RETRIED_STATUSES or last:
                    return decoded_answer(response, path)
                log.warning("Infobip %s %s: %d; retrying", method, path, response.status_code)
            self._sleep(self._backoff.delay(attempt))
            attempt += 1


def _results(answer: Mapping[str, Any], path: str) -> list[dict[str, Any]]:
    results = answer.get("results", [])
    if not isinstance(results, list):
        raise InfobipApiError(200, "answer's results is not a list", endpoint=path)
    return [item for item in results if isinstance(item, dict)]


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


__all__ = ["InfobipApi", "InfobipApiError", "infobip_instant"]
