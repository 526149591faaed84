"""Postmark: ``POST /email`` and ``POST /email/batch`` (JSON), ``X-Postmark-Server-Token``.

Sources:
- https://postmarkapp.com/developer/user-guide/send-email-with-api (fields, the token header,
  401 on a wrong or missing token, ``POSTMARK_API_TEST``);
- https://postmarkapp.com/developer/user-guide/send-email-with-api/batch-emails (up to 500
  messages, 50 MB, HTTP 200 with one result per message, each with its own ``ErrorCode``);
- https://postmarkapp.com/developer/api/overview#error-codes (10 bad or missing token, 300
  invalid email request, 402 invalid JSON, 406 inactive recipient, 410 too many batch messages,
  429 rate limit) and the support article on 422 (``{"ErrorCode": 300, "Message": ...}``);
- https://postmarkapp.com/support/article/subject-line-and-from-address-character-limits
  (Subject 2000, From 255);
- anymail ``tests/test_postmark_backend.py`` (answers: the single ``/email`` 406 is HTTP 422 with
  "Found inactive addresses: a, b."; a partly inactive send is ErrorCode 0 with "Message OK, but
  will not deliver to these inactive addresses: a, b."; field names of Metadata are limited to
  20 characters).
Postmark publishes no rate-limit headers: its 429 carries none (api-evangelist's reconciled
rate-limit file says so too).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from support.fake_senders.checks import Check
from support.fake_senders.core import Answer, FakeSender, Request, Route
from support.fake_senders.ledger import Accepted, merged_echo

SINGLE = "/email"
BATCH = "/email/batch"
#: messages per /email/batch call
BATCH_MAX = 500
#: recipients per message, To + Cc + Bcc
RECIPIENTS_MAX = 50
FIELDS = {
    "From",
    "To",
    "Cc",
    "Bcc",
    "Subject",
    "Tag",
    "HtmlBody",
    "TextBody",
    "ReplyTo",
    "Headers",
    "TrackOpens",
    "TrackLinks",
    "Metadata",
    "Attachments",
    "MessageStream",
}
TRACK_LINKS = {"None", "HtmlAndText", "HtmlOnly", "TextOnly"}
INACTIVE_NOTE = (
    "Inactive recipients are ones that have generated a hard bounce or a spam complaint."
)


class FakePostmark(FakeSender):
    name = "postmark"

    def __init__(self, server_token: str = "postmark-server-token") -> None:
        super().__init__()
        self.server_token = server_token

    def routes(self) -> list[tuple[str, str, Route]]:
        return [("POST", SINGLE, self._single), ("POST", BATCH, self._batch)]

    def authenticate(self, request: Request) -> Answer | None:
        if request.header("X-Postmark-Server-Token") == self.server_token:
            return None
        return self.error(401, "Request does not contain a valid Server token.", code=10)

    def error(self, status: int, message: str, *, code: int | None = None) -> Answer:
        default = {401: 10, 422: 300, 429: 429}.get(status, 0)
        return Answer(status, {"ErrorCode": default if code is None else code, "Message": message})

    def _single(self, request: Request) -> Answer:
        try:
            message = request.json()
        except ValueError:
            return self.error(422, "Invalid JSON", code=402)
        result, accepted = self._one(message, request)
        return Answer(200 if result["ErrorCode"] == 0 else 422, result, accepted=accepted)

    def _batch(self, request: Request) -> Answer:
        try:
            messages = request.json()
        except ValueError:
            return self.error(422, "Invalid JSON", code=402)
        if not isinstance(messages, list):
            return self.error(422, "The batch must be a JSON array of messages.", code=403)
        if len(messages) > BATCH_MAX:
            return self.error(
                422, f"Too many batch messages: {len(messages)}; the maximum is 500.", code=410
            )
        results, accepted = [], []
        for message in messages:
            result, rows = self._one(message, request)
            results.append(result)
            accepted += rows
        return Answer(200, results, accepted=accepted)

    def _one(self, message: Any, request: Request) -> tuple[dict[str, Any], list[Accepted]]:
        check = Check()
        message = check.obj(message, "", required=("From",), allowed=FIELDS)
        check.address(message.get("From"), "From")
        check.string(message.get("From"), "From", most=255)
        check.string(message.get("Subject"), "Subject", most=2000)
        recipients = {
            kind: check.address_list(message.get(field), field)
            for kind, field in (("to", "To"), ("cc", "Cc"), ("bcc", "Bcc"))
        }
        everyone = [a for addresses in recipients.values() for a in addresses]
        if not everyone:
            check.add("To", "at least one recipient is required")
        if len(everyone) > RECIPIENTS_MAX:
            check.add("To", f"{len(everyone)} recipients; the maximum is {RECIPIENTS_MAX}")
        if not message.get("HtmlBody") and not message.get("TextBody"):
            check.add("TextBody", "provide TextBody or HtmlBody")
        metadata = check.strings(message.get("Metadata") or {}, "Metadata")
        for key in metadata:
            if len(key) > 20:
                check.add("Metadata", "Field names are limited to 20 characters")
        check.name_values(message.get("Headers"), "Headers")
        if message.get("TrackLinks") not in (None, *TRACK_LINKS):
            check.add("TrackLinks", f"must be one of {sorted(TRACK_LINKS)}")
        if "TrackOpens" in message and not isinstance(message["TrackOpens"], bool):
            check.add("TrackOpens", "must be a boolean")
        if not check.ok:
            return {"ErrorCode": 300, "Message": f"Invalid email request: {check.text()}"}, []
        inactive = [a for a in everyone if a in self.suppressed]
        if len(inactive) == len(everyone):
            text = (
                "You tried to send to a recipient that has been marked as inactive.\n"
                f"Found inactive addresses: {', '.join(inactive)}.\n{INACTIVE_NOTE}"
            )
            return {"ErrorCode": 406, "Message": text}, []
        message_id = str(uuid.uuid4())
        echo = merged_echo(
            message.get("Metadata"),
            {"Tag": message["Tag"]} if "Tag" in message else None,
            {"MessageStream": message.get("MessageStream", "outbound")},
        )
        accepted = [
            Accepted(address, message_id, request.path, request.index, kind, echo, message)
            for kind, addresses in recipients.items()
            for address in addresses
            if address not in inactive
        ]
        text = "OK"
        if inactive:
            text = (
                "Message OK, but will not deliver to these inactive addresses: "
                f"{', '.join(inactive)}. {INACTIVE_NOTE}"
            )
        result = {
            "ErrorCode": 0,
            "Message": text,
            "MessageID": message_id,
            "SubmittedAt": datetime.now(UTC).isoformat(),
        }
        if "To" in message:
            result["To"] = message["To"]
        return result, accepted
