"""Mailjet Send API v3.1: ``POST /v3.1/send`` (JSON), HTTP Basic ``<api key>:<secret key>``.

Sources:
- https://dev.mailjet.com/email/reference/send-emails/ (``Messages[]`` ≤50 per call, each with
  From, To, Cc, Bcc, Subject, TextPart, HTMLPart, TemplateID, TemplateLanguage, Variables,
  Headers, CustomID, EventPayload, CustomCampaign, Attachments...; ``Globals`` applies to every
  message; ``SandboxMode``);
- https://dev.mailjet.com/docs/email-api/email_api_overview/status_codes (401 on a wrong key
  pair, 429 at the per-minute limit; errors carry ErrorIdentifier, ErrorMessage, StatusCode);
- anymail ``tests/test_mailjet_backend.py`` (the answer: per message ``Status`` success with
  ``To[].{Email, MessageUUID, MessageID, MessageHref}``, or ``Status`` error with
  ``Errors[].{ErrorIdentifier, ErrorCode, StatusCode, ErrorMessage, ErrorRelatedTo}``, the whole
  answer then being HTTP 400; a global error ``{ErrorIdentifier, ErrorCode, ErrorMessage,
  StatusCode}``; a 429 answered as ``text/html`` "Rate limit exceeded"; MessageIDs beyond 2**53).
Not confirmed by a source: which ``mj-`` code names which problem (the fake uses mj-0003 for a
missing property, mj-0013 for an invalid address as anymail's sample does, mj-0002 for the rest),
and the 50-recipients-per-message limit (the fake enforces it).
"""

from __future__ import annotations

import base64
import secrets
import uuid
from typing import Any

from support.fake_senders.checks import Check
from support.fake_senders.core import Answer, FakeSender, Request, Route
from support.fake_senders.ledger import Accepted, merged_echo

SEND = "/v3.1/send"
#: messages per call
BATCH_MAX = 50
#: recipients (To + Cc + Bcc) per message
RECIPIENTS_MAX = 50
MESSAGE = {
    "From",
    "Sender",
    "To",
    "Cc",
    "Bcc",
    "ReplyTo",
    "Subject",
    "TextPart",
    "HTMLPart",
    "TemplateID",
    "TemplateLanguage",
    "TemplateErrorReporting",
    "TemplateErrorDeliver",
    "Variables",
    "Headers",
    "CustomID",
    "EventPayload",
    "CustomCampaign",
    "DeduplicateCampaign",
    "Attachments",
    "InlinedAttachments",
    "TrackOpens",
    "TrackClicks",
    "Priority",
    "URLTags",
    "MonitoringCategory",
}


class FakeMailjet(FakeSender):
    name = "mailjet"

    def __init__(self, api_key: str = "mj-public", secret_key: str = "mj-secret") -> None:
        super().__init__()
        self.api_key = api_key
        self.secret_key = secret_key

    def routes(self) -> list[tuple[str, str, Route]]:
        return [("POST", SEND, self._send)]

    def authenticate(self, request: Request) -> Answer | None:
        token = base64.b64encode(f"{self.api_key}:{self.secret_key}".encode()).decode()
        if request.header("Authorization") == f"Basic {token}":
            return None
        return self.error(
            401,
            "API key authentication/authorization failure. You may be unauthorized to access the"
            " API or your API key may be expired. Visit API keys management section to check"
            " your keys.",
        )

    def error(self, status: int, message: str, code: str = "mj-0002") -> Answer:
        return Answer(
            status,
            {
                "ErrorIdentifier": str(uuid.uuid4()),
                "ErrorCode": code,
                "ErrorMessage": message,
                "StatusCode": status,
            },
        )

    def throttled(self, retry_after: float) -> Answer:
        return Answer(429, b"Rate limit exceeded", content_type="text/html")

    def _send(self, request: Request) -> Answer:
        check = Check()
        body = check.obj(
            request.json(),
            "",
            required=("Messages",),
            allowed=("Messages", "Globals", "SandboxMode", "AdvanceErrorHandling"),
        )
        messages = check.array(body.get("Messages"), "Messages", least=1)
        if len(messages) > BATCH_MAX:
            return self.error(400, f"Too many messages: {len(messages)}; the maximum is 50.")
        globals_ = check.obj(body.get("Globals") or {}, "Globals", allowed=MESSAGE)
        if not check.ok:
            return self.error(400, check.text())
        results, accepted = [], []
        for n, message in enumerate(messages):
            own = message if isinstance(message, dict) else {}
            result, rows = self._one(n, {**globals_, **own}, message, request)
            results.append(result)
            accepted += rows
        failed = any(result["Status"] == "error" for result in results)
        if body.get("SandboxMode"):
            accepted = []  # validated, not sent
        return Answer(400 if failed else 200, {"Messages": results}, accepted=accepted)

    def _one(
        self, n: int, merged: dict[str, Any], own: Any, request: Request
    ) -> tuple[dict[str, Any], list[Accepted]]:
        check = Check()
        check.obj(own, f"Messages[{n}]", allowed=MESSAGE)
        if "From" not in merged:
            check.add(f"Messages[{n}].From", "Missing mandatory property")
        else:
            check.address(check.obj(merged["From"], "From").get("Email"), f"Messages[{n}].From")
        people: list[tuple[str, str]] = []
        for kind in ("To", "Cc", "Bcc"):
            for m, item in enumerate(check.array(merged.get(kind), f"Messages[{n}].{kind}")):
                field = f"{kind}[{m}].Email"
                address = check.address(check.obj(item, field).get("Email"), field, named=False)
                if address:
                    people.append((kind, address))
        if not any(kind == "To" for kind, _ in people):
            check.add(f"Messages[{n}].To", "Missing mandatory property")
        if len(people) > RECIPIENTS_MAX:
            check.add(f"Messages[{n}].To", f"{len(people)} recipients; the maximum is 50")
        if "EventPayload" in merged and not isinstance(merged["EventPayload"], str):
            check.add(f"Messages[{n}].EventPayload", "must be a string")
        if not check.ok:
            errors = [
                {
                    "ErrorIdentifier": str(uuid.uuid4()),
                    "ErrorCode": "mj-0013" if "valid" in text else "mj-0003",
                    "StatusCode": 400,
                    "ErrorMessage": text,
                    "ErrorRelatedTo": [path.split(".", 1)[-1]],
                }
                for path, text in check.problems
            ]
            return {"Errors": errors, "Status": "error"}, []
        result: dict[str, Any] = {"Status": "success", "CustomID": merged.get("CustomID", "")}
        echo = merged_echo(
            {k: merged[k] for k in ("CustomID", "EventPayload", "CustomCampaign") if k in merged}
        )
        rows = []
        for kind in ("To", "Cc", "Bcc"):
            result[kind] = []
            for who, address in people:
                if who != kind:
                    continue
                message_id = 2**53 + secrets.randbelow(2**62)  # beyond a float's exact range
                result[kind].append(
                    {
                        "Email": address,
                        "MessageUUID": str(uuid.uuid4()),
                        "MessageID": message_id,
                        "MessageHref": f"https://api.mailjet.com/v3/REST/message/{message_id}",
                    }
                )
                rows.append(
                    Accepted(
                        address,
                        str(message_id),
                        request.path,
                        request.index,
                        kind.lower(),
                        echo,
                        merged,
                    )
                )
        return result, rows
