"""Resend: ``POST /emails`` and ``POST /emails/batch`` (JSON), ``Authorization: Bearer re_...``.

Sources:
- https://resend.com/docs/api-reference/emails/send-email (from, to (≤50), subject, cc, bcc,
  reply_to, html, text, headers, attachments, tags, scheduled_at; answer ``{"id": ...}``);
- https://resend.com/docs/dashboard/emails/batch-sending (≤100 emails, answer
  ``{"data": [{"id": ...}, ...]}`` in request order; no attachments or scheduled_at in a batch);
- https://resend.com/docs/api-reference/errors.md (``{"statusCode", "message", "name"}``;
  missing_api_key 401, invalid_api_key 403, validation_error 400, missing_required_field 422,
  invalid_idempotency_key 400, invalid_idempotent_request 409, concurrent_idempotent_requests 409,
  rate_limit_exceeded 429); a newer copy of that page says the sending endpoints answer a wrong
  key with 401 ``validation_error``: the fake keeps the .md page's 403 ``invalid_api_key``;
- https://resend.com/docs/dashboard/emails/idempotency-keys and
  https://resend.com/changelog/batch-idempotency-keys (``Idempotency-Key`` ≤256 characters, kept
  24 h; same key and payload: the first answer again, nothing sent twice);
- https://resend.com/docs/api-reference/rate-limit (``ratelimit-limit``, ``-remaining``,
  ``-reset`` and ``retry-after`` on a 429);
- anymail ``backends/resend.py`` (metadata as an ``X-Metadata`` JSON header, tags as ``X-Tags``).
"""

from __future__ import annotations

import re
import threading
import uuid
from typing import Any

from support.fake_senders.checks import Check, bare
from support.fake_senders.core import Answer, FakeSender, Request, Route
from support.fake_senders.ledger import Accepted, merged_echo

SINGLE = "/emails"
BATCH = "/emails/batch"
#: emails per /emails/batch call
BATCH_MAX = 100
#: addresses in one email's ``to``
TO_MAX = 50
FIELDS = {"from", "to", "subject", "cc", "bcc", "reply_to", "html", "text", "headers",
          "attachments", "tags", "scheduled_at", "topic_id", "template"}  # fmt: skip
_TAG = re.compile(r"[A-Za-z0-9_-]{1,256}")


class FakeResend(FakeSender):
    name = "resend"

    def __init__(self, api_key: str = "re_fake_key") -> None:
        super().__init__()
        self.api_key = api_key
        #: Idempotency-Key -> (path, body, answer)
        self.idempotent: dict[str, tuple[str, bytes, Answer]] = {}
        self._in_flight: set[str] = set()
        self._keys = threading.Lock()

    def routes(self) -> list[tuple[str, str, Route]]:
        return [("POST", SINGLE, self._single), ("POST", BATCH, self._batch)]

    def authenticate(self, request: Request) -> Answer | None:
        value = request.header("Authorization")
        if not value:
            return self._error(
                401, "missing_api_key", "Missing API key in the authorization header."
            )
        if value != f"Bearer {self.api_key}":
            return self._error(403, "invalid_api_key", "API key is invalid.")
        return None

    def error(self, status: int, message: str) -> Answer:
        name = {429: "rate_limit_exceeded", 404: "not_found"}.get(status, "application_error")
        if 400 <= status < 429:
            name = "validation_error"
        return self._error(status, name, message)

    def throttled(self, retry_after: float) -> Answer:
        answer = self._error(429, "rate_limit_exceeded", "Too many requests.")
        answer.headers = {
            "ratelimit-limit": "2",
            "ratelimit-remaining": "0",
            "ratelimit-reset": str(max(1, round(retry_after))),
            "retry-after": str(max(1, round(retry_after))),
        }
        return answer

    def on_hold(self, request: Request) -> None:
        key = request.header("Idempotency-Key")
        if key:
            with self._keys:
                self._in_flight.add(key)

    def on_release(self, request: Request) -> None:
        key = request.header("Idempotency-Key")
        if key:
            with self._keys:
                self._in_flight.discard(key)

    @staticmethod
    def _error(status: int, name: str, message: str) -> Answer:
        return Answer(status, {"statusCode": status, "message": message, "name": name})

    def _single(self, request: Request) -> Answer:
        return self._idempotent(request, lambda: self._send(request, [request.json()], False))

    def _batch(self, request: Request) -> Answer:
        def send() -> Answer:
            emails = request.json()
            if not isinstance(emails, list):
                return self._error(422, "validation_error", "The body must be an array of emails.")
            if len(emails) > BATCH_MAX:
                return self._error(
                    422, "validation_error", f"Too many emails: {len(emails)}; the maximum is 100."
                )
            return self._send(request, emails, True)

        return self._idempotent(request, send)

    def _idempotent(self, request: Request, send: Any) -> Answer:
        key = request.header("Idempotency-Key")
        if key is None:
            answer: Answer = send()
            return answer
        if not 1 <= len(key) <= 256:
            return self._error(
                400, "invalid_idempotency_key", "The key must be between 1-256 chars."
            )
        with self._keys:
            if key in self._in_flight:
                return self._error(
                    409,
                    "concurrent_idempotent_requests",
                    "Same idempotency key used while original request is still in progress.",
                )
            if key in self.idempotent:
                path, body, first = self.idempotent[key]
                if (path, body) != (request.path, request.body):
                    return self._error(
                        409,
                        "invalid_idempotent_request",
                        "Same idempotency key used with a different request payload.",
                    )
                return Answer(first.status, first.body, dict(first.headers))  # nothing new sent
            answer = send()
            if answer.status < 500:
                self.idempotent[key] = (request.path, request.body, answer)
            return answer

    def _send(self, request: Request, emails: list[Any], batch: bool) -> Answer:
        check = Check()
        for n, email in enumerate(emails):
            self._check(check, email, f"[{n}]" if batch else "", batch)
        if not check.ok:
            missing = [p for p, m in check.problems if m == "is required"]
            if missing:
                return self._error(422, "missing_required_field", check.text())
            return self._error(422 if batch else 400, "validation_error", check.text())
        ids, accepted = [], []
        for email in emails:
            email_id = str(uuid.uuid4())
            ids.append({"id": email_id})
            tags = {t["name"]: t["value"] for t in email.get("tags") or []}
            echo = merged_echo(email.get("headers"), tags)
            for kind in ("to", "cc", "bcc"):
                for address in _listed(email.get(kind)):
                    accepted.append(
                        Accepted(address, email_id, request.path, request.index, kind, echo, email)
                    )
        body = {"data": ids} if batch else ids[0]
        return Answer(200, body, accepted=accepted)

    @staticmethod
    def _check(check: Check, email: Any, path: str, batch: bool) -> None:
        email = check.obj(email, path, required=("from", "to", "subject"), allowed=FIELDS)
        check.address(email.get("from"), f"{path}.from")
        to = _listed(email.get("to"), raw=True)
        if len(to) > TO_MAX:
            check.add(f"{path}.to", f"{len(to)} addresses; the maximum is {TO_MAX}")
        for kind in ("to", "cc", "bcc", "reply_to"):
            if not isinstance(email.get(kind), (str, list, type(None))):
                check.add(f"{path}.{kind}", "must be a string or an array of strings")
            for address in _listed(email.get(kind), raw=True):
                check.address(address, f"{path}.{kind}")
        if batch and ("attachments" in email or "scheduled_at" in email):
            check.add(path, "attachments and scheduled_at are not supported in a batch")
        check.strings(email.get("headers") or {}, f"{path}.headers")
        for n, tag in enumerate(check.array(email.get("tags"), f"{path}.tags")):
            tag = check.obj(tag, f"{path}.tags[{n}]", required=("name", "value"), allowed=())
            for part in ("name", "value"):
                if part in tag and not _TAG.fullmatch(str(tag[part])):
                    check.add(
                        f"{path}.tags[{n}].{part}",
                        "may only contain ASCII letters, numbers, underscores and dashes",
                    )


def _listed(value: Any, *, raw: bool = False) -> list[str]:
    """A string or a list of strings as a list (bare, lower-cased addresses unless ``raw``)."""
    items = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    if raw:
        return [str(item) for item in items]
    return [bare(str(item)) for item in items]
