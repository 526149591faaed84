"""SparkPost: ``POST /api/v1/transmissions`` (JSON), ``Authorization: <key>`` (or Basic ``key:``).

Sources:
- https://developers.sparkpost.com/api/ (the key alone or Basic with the key as user and an
  empty password; base URLs https://api.sparkpost.com/api/v1 and the EU one);
- https://developers.sparkpost.com/api/transmissions/ (options, recipients with address /
  tags / metadata / substitution_data, campaign_id, description, metadata, substitution_data,
  return_path, content; the answer ``{"results": {"total_rejected_recipients",
  "total_accepted_recipients", "id"}}``; a sending-limit breach is HTTP 420);
- https://support.sparkpost.com/docs/tech-resources/smtp-rest-api-performance (no hard recipient
  cap; ~2,000-10,000 recipients a call recommended);
- anymail ``backends/sparkpost.py`` / ``tests/test_sparkpost_backend.py`` (errors
  ``{"errors": [{"message", ...}]}``; the counts are all the answer says about recipients);
- the-refinery/sparkpost_rails#47 (a wrong key: ``[{"message": "Unauthorized."}]``) and
  python-sparkpost#223 ("At least one valid recipient is required", code 5002).
Not confirmed by a source: that recipients on the account's suppression list count in
``total_rejected_recipients`` at once (the fake does so; the events say ``policy_rejection``).
"""

from __future__ import annotations

import base64
import secrets
from typing import Any

from support.fake_senders.checks import Check
from support.fake_senders.core import Answer, FakeSender, Request, Route
from support.fake_senders.ledger import Accepted, merged_echo

TRANSMISSIONS = r"/api/v1/transmissions/?"
FIELDS = {"options", "recipients", "campaign_id", "description", "metadata",
          "substitution_data", "return_path", "content"}  # fmt: skip
RECIPIENT = {"address", "return_path", "tags", "metadata", "substitution_data"}
CONTENT = {"from", "subject", "text", "html", "amp_html", "reply_to", "headers", "attachments",
           "inline_images", "template_id", "use_draft_template", "email_rfc822"}  # fmt: skip


class FakeSparkPost(FakeSender):
    name = "sparkpost"
    base_path = "/api/v1"

    def __init__(self, api_key: str = "sparkpost-fake-key") -> None:
        super().__init__()
        self.api_key = api_key

    def routes(self) -> list[tuple[str, str, Route]]:
        return [("POST", TRANSMISSIONS, self._transmit)]

    def authenticate(self, request: Request) -> Answer | None:
        basic = "Basic " + base64.b64encode(f"{self.api_key}:".encode()).decode()
        if request.header("Authorization") in (self.api_key, basic):
            return None
        return Answer(401, {"errors": [{"message": "Unauthorized."}]})

    def error(self, status: int, message: str, code: str = "1400") -> Answer:
        return Answer(status, {"errors": [{"message": message, "code": code}]})

    def _transmit(self, request: Request) -> Answer:
        check = Check()
        body = check.obj(request.json(), "", required=("recipients", "content"), allowed=FIELDS)
        content = check.obj(body.get("content"), "content", allowed=CONTENT)
        if not content.get("template_id") and not content.get("email_rfc822"):
            sender = content.get("from")
            check.address(sender.get("email") if isinstance(sender, dict) else sender, "from")
            if not any(content.get(k) for k in ("text", "html", "amp_html")):
                check.add("content", "one of text, html or amp_html is required")
        check.obj(body.get("metadata") or {}, "metadata")
        rows: list[tuple[str, dict[str, Any]]] = []
        for n, recipient in enumerate(check.array(body.get("recipients"), "recipients")):
            path = f"recipients[{n}]"
            recipient = check.obj(recipient, path, required=("address",), allowed=RECIPIENT)
            check.obj(recipient.get("metadata") or {}, f"{path}.metadata")
            address = recipient.get("address")
            email = address.get("email") if isinstance(address, dict) else address
            found = check.address(email, f"recipients[{n}].address")
            if found:
                rows.append((found, recipient))
        if not check.ok:
            return self.error(400, check.text())
        if not rows:
            return self.error(422, "At least one valid recipient is required", "5002")
        transmission = str(secrets.randbelow(10**17) + 10**16)
        accepted = [
            Accepted(
                address,
                transmission,
                request.path,
                request.index,
                "to",
                merged_echo(
                    body.get("metadata"),
                    recipient.get("metadata"),
                    {"tags": recipient["tags"]} if recipient.get("tags") else None,
                    {"campaign_id": body["campaign_id"]} if body.get("campaign_id") else None,
                ),
                recipient,
            )
            for address, recipient in rows
            if address not in self.suppressed
        ]
        results = {
            "total_rejected_recipients": len(rows) - len(accepted),
            "total_accepted_recipients": len(accepted),
            "id": transmission,
        }
        return Answer(200, {"results": results}, accepted=accepted)
