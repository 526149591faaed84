"""MailerSend: ``POST /v1/email`` and ``POST /v1/bulk-email`` (JSON), ``Authorization: Bearer``.

Sources:
- https://developers.mailersend.com/api/v1/email.html (from, to (1..50), cc (≤10), bcc (≤10),
  reply_to, subject, text, html, template_id, tags, personalization[{email, data}], headers,
  attachments, settings, send_at, in_reply_to, precedence_bulk; 202 with ``X-Message-Id``);
- anymail ``backends/mailersend.py`` / ``tests/test_mailersend_backend.py`` (202 with an empty
  body, or JSON ``warnings`` of type ``SOME_SUPPRESSED`` / ``ALL_SUPPRESSED`` listing
  ``recipients[{email, reasons}]`` (hard_bounced, spam_complaint, unsubscribed, blocklisted),
  no ``X-Message-Id`` when all are suppressed; ``bulk-email`` answers 202 ``{"message": "The bulk
  email is being processed.", "bulk_email_id": ...}``; 422 ``{"message", "errors": {field:
  [...]}}``; 401 ``{"message": "Unauthenticated."}``);
- anymail ``docs/esps/mailersend.rst`` (429 with ``retry-after``; ``x-ratelimit-*`` headers).
Not confirmed by a source: the bulk-email maximum (the fake: 500 messages a call).
"""

from __future__ import annotations

import secrets
from typing import Any

from support.fake_senders.checks import Check
from support.fake_senders.core import Answer, FakeSender, Request, Route
from support.fake_senders.ledger import Accepted, merged_echo

EMAIL = "/v1/email"
BULK = "/v1/bulk-email"
#: messages per bulk-email call (not confirmed by a source)
BATCH_MAX = 500
LIMITS = {"to": 50, "cc": 10, "bcc": 10}
FIELDS = {"from", "to", "cc", "bcc", "reply_to", "subject", "text", "html", "template_id",
          "tags", "personalization", "headers", "attachments", "settings", "send_at",
          "in_reply_to", "precedence_bulk", "references", "list_unsubscribe"}  # fmt: skip


class FakeMailerSend(FakeSender):
    name = "mailersend"
    base_path = "/v1"

    def __init__(self, api_token: str = "mlsn.fake") -> None:
        super().__init__()
        self.api_key = api_token
        #: bulk_email_id -> the accepted rows of that bulk request
        self.bulks: dict[str, list[Accepted]] = {}

    def routes(self) -> list[tuple[str, str, Route]]:
        return [("POST", EMAIL, self._email), ("POST", BULK, self._bulk)]

    def authenticate(self, request: Request) -> Answer | None:
        if request.header("Authorization") == f"Bearer {self.api_key}":
            return None
        return Answer(401, {"message": "Unauthenticated."})

    def error(self, status: int, message: str) -> Answer:
        return Answer(status, {"message": message})

    def throttled(self, retry_after: float) -> Answer:
        answer = self.error(429, "Too Many Attempts.")
        seconds = str(max(1, round(retry_after)))
        answer.headers = {
            "retry-after": seconds,
            "x-ratelimit-limit": "60",
            "x-ratelimit-remaining": "0",
        }
        return answer

    def _invalid(self, check: Check) -> Answer:
        errors: dict[str, list[str]] = {}
        for path, text in check.problems:
            errors.setdefault(path, []).append(f"The {path} {text}.")
        return Answer(422, {"message": check.problems[0][1], "errors": errors})

    def _check(self, check: Check, value: Any, path: str) -> dict[str, Any]:
        email = check.obj(value, path, required=("from", "to"), allowed=FIELDS)
        sender = check.obj(email.get("from"), f"{path}from")
        check.address(sender.get("email"), f"{path}from.email", named=False)
        for kind, most in LIMITS.items():
            items = check.array(email.get(kind), f"{path}{kind}", least=kind == "to", most=most)
            for n, item in enumerate(items):
                field = f"{path}{kind}.{n}.email"
                check.address(check.obj(item, field).get("email"), field, named=False)
        if not email.get("template_id") and not (email.get("text") and email.get("html")):
            check.add(f"{path}text", "field is required when template_id is not present")
        return email

    def _email(self, request: Request) -> Answer:
        check = Check()
        email = self._check(check, request.json(), "")
        if not check.ok:
            return self._invalid(check)
        people = [
            (kind, str(item["email"]).lower()) for kind in LIMITS for item in email.get(kind) or []
        ]
        refused = [(kind, a) for kind, a in people if a in self.suppressed]
        message_id = secrets.token_hex(12)
        echo = merged_echo({"tags": email["tags"]} if email.get("tags") else None)
        accepted = [
            Accepted(a, message_id, request.path, request.index, kind, echo, email)
            for kind, a in people
            if a not in self.suppressed
        ]
        if not refused:
            return Answer(202, b"", {"X-Message-Id": message_id}, accepted)
        kind = "ALL_SUPPRESSED" if not accepted else "SOME_SUPPRESSED"
        warning = {
            "type": kind,
            "warning": "Some of the recipients have been suppressed."
            if accepted
            else "All of the recipients have been suppressed.",
            "recipients": [
                {"email": a, "name": "", "reasons": [self.suppressed[a] or "hard_bounced"]}
                for _, a in refused
            ],
        }
        body = {"message": "There are some warnings for your request.", "warnings": [warning]}
        headers = {"X-Message-Id": message_id} if accepted else {}
        return Answer(202, body, headers, accepted)

    def _bulk(self, request: Request) -> Answer:
        emails = request.json()
        check = Check()
        emails = check.array(emails, "", least=1, most=BATCH_MAX)
        for n, email in enumerate(emails):
            self._check(check, email, f"{n}.")
        if not check.ok:
            return self._invalid(check)
        bulk_id = secrets.token_hex(12)
        accepted = []  # suppressed recipients of a bulk are dropped later, not refused here
        for email in emails:
            echo = merged_echo({"tags": email["tags"]} if email.get("tags") else None)
            for kind in LIMITS:
                for item in email.get(kind) or []:
                    address = str(item["email"]).lower()
                    if address not in self.suppressed:
                        accepted.append(
                            Accepted(
                                address,
                                f"bulk:{bulk_id}",
                                request.path,
                                request.index,
                                kind,
                                echo,
                                email,
                            )
                        )
        self.bulks[bulk_id] = accepted
        body = {"message": "The bulk email is being processed.", "bulk_email_id": bulk_id}
        return Answer(202, body, accepted=accepted)
