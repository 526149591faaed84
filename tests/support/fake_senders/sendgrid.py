"""SendGrid v3: ``POST /v3/mail/send`` (JSON), ``Authorization: Bearer <key>``, 202 + X-Message-Id.

Sources:
- https://www.twilio.com/docs/sendgrid/api-reference/mail-send (the request tree: personalizations
  with to/cc/bcc/subject/headers/substitutions/dynamic_template_data/custom_args/send_at; from,
  reply_to(_list), subject, content, attachments, template_id, headers, categories, custom_args,
  send_at, batch_id, asm, ip_pool_name, mail_settings, tracking_settings; 202 on success);
- https://www.twilio.com/docs/sendgrid/api-reference/mail-send/errors (every error is a 400
  ``{"errors": [{"message", "field", "help"}]}``; the wording of the limits: 1000
  personalizations, 1000 total recipients, each address once, at least one personalization);
- https://support.sendgrid.com/hc/en-us/articles/34677918767131 (the "unique between to, cc,
  and bcc" message);
- https://www.twilio.com/docs/sendgrid/api-reference/how-to-use-the-sendgrid-v3-api/errors
  (401 requires authentication, 429 too many requests) and .../rate-limits
  (``X-RateLimit-Limit``, ``-Remaining``, ``-Reset`` as epoch seconds);
- the custom_args type error ("Invalid type. Expected: object, given: string.") quoted from a
  Stack Exchange question; custom args must be strings (sendgrid-nodejs#288: a number is a 400);
  custom args up to 10,000 bytes (the unique-arguments page);
- anymail ``backends/sendgrid.py`` (one personalization per recipient for a batch,
  ``custom_args`` per personalization; the events' ``sg_message_id`` begins with X-Message-Id).
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from support.fake_senders.checks import Check
from support.fake_senders.core import Answer, FakeSender, Request, Route
from support.fake_senders.ledger import Accepted, merged_echo

SEND = "/v3/mail/send"
#: personalizations per request, and recipients (to + cc + bcc) per request
BATCH_MAX = 1000
HELP = "http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html"
FIELDS = {
    "personalizations",
    "from",
    "reply_to",
    "reply_to_list",
    "subject",
    "content",
    "attachments",
    "template_id",
    "headers",
    "categories",
    "custom_args",
    "send_at",
    "batch_id",
    "asm",
    "ip_pool_name",
    "mail_settings",
    "tracking_settings",
}
PERSONALIZATION = {
    "to",
    "cc",
    "bcc",
    "from",
    "subject",
    "headers",
    "substitutions",
    "dynamic_template_data",
    "custom_args",
    "send_at",
}


class FakeSendGrid(FakeSender):
    name = "sendgrid"

    def __init__(self, api_key: str = "SG.fake-key") -> None:
        super().__init__()
        self.api_key = api_key

    def routes(self) -> list[tuple[str, str, Route]]:
        return [("POST", SEND, self._send)]

    def authenticate(self, request: Request) -> Answer | None:
        if request.header("Authorization") == f"Bearer {self.api_key}":
            return None
        return self.error(401, "The provided authorization grant is invalid, expired, or revoked")

    def error(self, status: int, message: str, field: str | None = None) -> Answer:
        return Answer(status, {"errors": [{"message": message, "field": field, "help": None}]})

    def throttled(self, retry_after: float) -> Answer:
        answer = self.error(429, "too many requests")
        answer.headers = {
            "X-RateLimit-Limit": "600",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(int(time.time() + retry_after)),
        }
        return answer

    def _send(self, request: Request) -> Answer:
        check = Check()
        mail = check.obj(request.json(), "", required=("personalizations", "from"), allowed=FIELDS)
        sender = check.obj(mail.get("from"), "from", required=("email",), allowed=("email", "name"))
        check.address(sender.get("email"), "from.email", named=False)
        if "custom_args" in mail and not isinstance(mail["custom_args"], dict):
            check.add("custom_args", "Invalid type. Expected: object, given: string.")
        elif "custom_args" in mail:
            check.strings(mail["custom_args"], "custom_args")
        if not mail.get("template_id"):
            contents = check.array(mail.get("content"), "content", least=1)
            for n, part in enumerate(contents):
                check.obj(part, f"content.{n}", required=("type", "value"))
        people = check.array(mail.get("personalizations"), "personalizations", least=1)
        if len(people) > BATCH_MAX:
            return self.error(
                400,
                f"The personalization block is limited to 1000 personalizations per API request."
                f" You have provided {len(people)} personalizations. Please consider splitting"
                " this into multiple requests and resending your request.",
                "personalizations",
            )
        recipients: list[tuple[int, str, str]] = []  # (personalization, kind, address)
        for n, person in enumerate(people):
            path = f"personalizations.{n}"
            person = check.obj(person, path, required=("to",), allowed=PERSONALIZATION)
            seen: set[str] = set()
            for kind in ("to", "cc", "bcc"):
                for m, item in enumerate(check.array(person.get(kind), f"{path}.{kind}")):
                    item = check.obj(item, f"{path}.{kind}.{m}", required=("email",))
                    address = check.address(item.get("email"), f"{path}.{kind}.{m}.email")
                    if address in seen:
                        check.add(
                            path,
                            "Each email address in the personalization block should be unique"
                            f" between to, cc, and bcc. We found the first duplicate instance of"
                            f" [{address}] in the {path}.{kind} field.",
                        )
                    if address:
                        seen.add(address)
                        recipients.append((n, kind, address))
            if "custom_args" in person:
                check.strings(person["custom_args"], f"{path}.custom_args")
        if len(recipients) > BATCH_MAX:
            check.add("personalizations", "There is a limit of 1000 total recipients per request.")
        if not check.ok:
            return Answer(
                400,
                {"errors": [{"message": m, "field": f, "help": HELP} for f, m in check.problems]},
            )
        return self._accept(mail, people, recipients, request)

    def _accept(
        self,
        mail: dict[str, Any],
        people: list[dict[str, Any]],
        recipients: list[tuple[int, str, str]],
        request: Request,
    ) -> Answer:
        message_id = secrets.token_urlsafe(16)[:22]  # e.g. "W86EgYT6SQKk0lRflfLRsA"
        if (mail.get("mail_settings") or {}).get("sandbox_mode", {}).get("enable"):
            return Answer(200, headers={"X-Message-Id": message_id})  # validated, not sent
        categories = mail.get("categories")
        accepted = [
            Accepted(
                address,
                message_id,
                request.path,
                request.index,
                kind,
                merged_echo(
                    mail.get("custom_args"),
                    people[n].get("custom_args"),
                    {"category": categories} if categories else None,
                ),
                people[n],
            )
            for n, kind, address in recipients
        ]
        return Answer(202, b"", {"X-Message-Id": message_id}, accepted)
