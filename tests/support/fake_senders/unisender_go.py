"""Unisender Go: ``POST /en/transactional/api/v1/email/send.json`` (JSON ``{"message": {...}}``),
``X-API-KEY`` header (or ``api_key`` in the body).

Sources:
- https://godocs.unisender.ru/web-api-ref#email-send (the host depends on the account's data
  centre; key in the ``X-API-KEY`` header or the body; JSON ≤10 MB; recipients[{email,
  substitutions, metadata}], global_substitutions, global_metadata, body{html, plaintext,
  amp}, subject, from_email, from_name, reply_to, track_links, track_read, headers, tags,
  template_id, attachments, options; 429 "Too Many Requests");
- anymail ``backends/unisender_go.py`` (the answer ``{"status": "success", "job_id", "emails",
  "failed_emails": {address: unsubscribed | permanent_unavailable | temporary_unavailable |
  invalid | duplicate}}``, a duplicate being listed in both ``emails`` and ``failed_emails``;
  ``recipients[].metadata`` echoed in the events) and ``docs/esps/unisender_go.rst`` (≤500
  recipients; 10 metadata slots);
- anymail ``tests/test_unisender_go_backend.py`` (errors ``{"status": "error", "message",
  "code"}``).
Not confirmed by a source: the error ``code`` numbers and the 401 answer (the fake: 401
``{"status": "error", "message": "Invalid API key", "code": 102}``).
"""

from __future__ import annotations

import secrets
from typing import Any

from support.fake_senders.checks import Check, is_address
from support.fake_senders.core import Answer, FakeSender, Request, Route
from support.fake_senders.ledger import Accepted, merged_echo

SEND = r"/(en|ru)/transactional/api/v1/email/send\.json"
#: recipients per call
BATCH_MAX = 500
#: metadata keys per recipient, global and own together
METADATA_MAX = 10
MESSAGE = {"recipients", "template_id", "tags", "skip_unsubscribe", "global_language",
           "template_engine", "global_substitutions", "global_metadata", "body", "subject",
           "from_email", "from_name", "reply_to", "reply_to_name", "track_links", "track_read",
           "bypass_global", "bypass_unavailable", "bypass_unsubscribed", "bypass_complained",
           "headers", "attachments", "inline_attachments", "options"}  # fmt: skip


class FakeUnisenderGo(FakeSender):
    name = "unisender_go"
    base_path = "/en/transactional/api/v1"

    def __init__(self, api_key: str = "unisender-go-fake") -> None:
        super().__init__()
        self.api_key = api_key

    def routes(self) -> list[tuple[str, str, Route]]:
        return [("POST", SEND, self._send)]

    def authenticate(self, request: Request) -> Answer | None:
        key = request.header("X-API-KEY")
        if key is None:
            try:
                body = request.json()
                key = body.get("api_key") if isinstance(body, dict) else None
            except ValueError:
                key = None
        if key == self.api_key:
            return None
        return Answer(401, {"status": "error", "message": "Invalid API key", "code": 102})

    def error(self, status: int, message: str) -> Answer:
        return Answer(status, {"status": "error", "message": message, "code": 999})

    def _send(self, request: Request) -> Answer:
        check = Check()
        body = check.obj(request.json(), "", required=("message",), allowed=("message", "api_key"))
        message = check.obj(
            body.get("message"), "message", required=("recipients", "from_email"), allowed=MESSAGE
        )
        if message.get("from_email"):
            check.address(message["from_email"], "message.from_email", named=False)
        if not message.get("template_id"):
            content = check.obj(
                message.get("body"), "message.body", allowed=("html", "plaintext", "amp")
            )
            if not content.get("html") and not content.get("plaintext"):
                check.add("message.body", "html or plaintext is required")
        recipients = check.array(message.get("recipients"), "message.recipients", least=1)
        if len(recipients) > BATCH_MAX:
            return self.error(400, f"Too many recipients: {len(recipients)}; the maximum is 500")
        global_metadata = check.obj(message.get("global_metadata") or {}, "global_metadata")
        for n, item in enumerate(recipients):
            item = check.obj(
                item,
                f"message.recipients[{n}]",
                required=("email",),
                allowed=("email", "substitutions", "metadata"),
            )
            own = check.obj(item.get("metadata") or {}, f"message.recipients[{n}].metadata")
            if len({**global_metadata, **own}) > METADATA_MAX:
                check.add(f"message.recipients[{n}].metadata", "more than 10 metadata fields")
        if not check.ok:
            return self.error(400, check.text())
        return self._accept(message, recipients, request)

    def _accept(
        self, message: dict[str, Any], recipients: list[dict[str, Any]], request: Request
    ) -> Answer:
        job_id = (
            f"{secrets.token_urlsafe(4)[:6]}-{secrets.token_hex(3).upper()}-{secrets.token_hex(2)}"
        )
        emails: list[str] = []
        failed: dict[str, str] = {}
        accepted = []
        tags = message.get("tags")
        for item in recipients:
            address = str(item["email"]).lower()
            if not is_address(address):
                failed[address] = "invalid"
            elif address in self.suppressed:
                failed[address] = self.suppressed[address] or "unsubscribed"
            elif address in emails:
                failed[address] = "duplicate"  # and stays in emails: it is sent once
            else:
                emails.append(address)
                echo = merged_echo(
                    message.get("global_metadata"),
                    item.get("metadata"),
                    {"tags": tags} if tags else None,
                )
                accepted.append(
                    Accepted(address, job_id, request.path, request.index, "to", echo, item)
                )
        answer: dict[str, Any] = {"status": "success", "job_id": job_id, "emails": emails}
        if failed:
            answer["failed_emails"] = failed
        return Answer(200, answer, accepted=accepted)
