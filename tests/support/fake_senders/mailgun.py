"""Mailgun: ``POST /v3/<domain>/messages`` (form fields), HTTP Basic ``api:<key>``.

Sources:
- https://documentation.mailgun.com/docs/mailgun/api-reference/openapi-final/tag/Messages/
  (the fields: from, to, cc, bcc, subject, text, html, amp-html, template, attachment, inline,
  ``o:`` options, ``h:`` headers, ``v:`` custom data, ``t:`` template options,
  ``recipient-variables``; the answer ``{"id": "<...>", "message": "Queued. Thank you."}``);
- https://documentation.mailgun.com/docs/mailgun/user-manual/sending-messages/batch-sending
  (at most 1,000 recipients per call; ``%recipient.key%`` substitution from
  ``recipient-variables``, one message per recipient);
- anymail ``backends/mailgun.py`` and ``tests/test_mailgun_backend.py`` (custom data via ``v:``
  or ``h:X-Mailgun-Variables``, echoed as the events' ``user-variables``; ``v:key`` set to
  ``%recipient.v:key%`` for per-recipient metadata; 400 ``{"message": "'to' parameter is not a
  valid address. please check documentation"}``; 404 ``{"message": "Domain not found: ..."}``);
- mailgun/mailgun.js#393, mailgun-js-boland#107 (a wrong key: 401 with the body ``Forbidden``).
Mailgun's 429 and its headers are not in the stored sources: the fake answers 429 with
``{"message": ...}`` and no rate-limit header.
"""

from __future__ import annotations

import base64
import re
import time
from collections import defaultdict
from typing import Any

import orjson

from support.fake_senders.checks import Check, bare, is_address
from support.fake_senders.core import Answer, FakeSender, Request, Route, new_id
from support.fake_senders.forms import Field, FormError, form_fields
from support.fake_senders.ledger import Accepted, merged_echo

MESSAGES = r"/v3/(?P<domain>[^/]+)/messages"
#: recipients (to + cc + bcc) per call
BATCH_MAX = 1000
PLAIN = {"from", "to", "cc", "bcc", "subject", "text", "html", "amp-html", "template",
         "attachment", "inline", "recipient-variables"}  # fmt: skip
PREFIXES = ("o:", "h:", "v:", "t:")
_RECIPIENT = re.compile(r"%recipient\.([^%]+)%")


class FakeMailgun(FakeSender):
    name = "mailgun"

    def __init__(self, api_key: str = "key-fake", domains: tuple[str, ...] = ("mg.example.com",)):
        super().__init__()
        self.api_key = api_key
        self.domains = set(domains)

    def routes(self) -> list[tuple[str, str, Route]]:
        return [("POST", MESSAGES, self._messages)]

    def authenticate(self, request: Request) -> Answer | None:
        token = base64.b64encode(f"api:{self.api_key}".encode()).decode()
        if request.header("Authorization") == f"Basic {token}":
            return None
        return Answer(401, b"Forbidden", content_type="text/plain")

    def error(self, status: int, message: str) -> Answer:
        return Answer(status, {"message": message})

    def _messages(self, request: Request) -> Answer:
        domain = request.path.split("/")[2]
        if domain not in self.domains:
            return self.error(404, f"Domain not found: {domain}")
        try:
            fields = form_fields(request)
        except (FormError, UnicodeDecodeError) as error:
            return self.error(400, str(error))
        form: dict[str, list[Field]] = defaultdict(list)
        for field in fields:
            form[field.name].append(field)
        check = Check()
        for name in form:
            if name not in PLAIN and not name.startswith(PREFIXES):
                check.add(name, "is not a known parameter")
        if not form.get("from"):
            check.add("from", "parameter is missing")
        else:
            check.address(form["from"][0].value, "from")
        recipients = {kind: self._addresses(form, kind, check) for kind in ("to", "cc", "bcc")}
        if not recipients["to"]:
            check.add("to", "parameter is missing")
        if not any(form.get(k) for k in ("text", "html", "template")):
            check.add("text", "Need at least one of 'text', 'html' or 'template' parameters")
        total = sum(len(found) for found in recipients.values())
        if total > BATCH_MAX:
            check.add("to", f"Too many recipients: {total}; the maximum is {BATCH_MAX}")
        per_recipient = self._recipient_variables(form, check)
        if not check.ok:
            return self.error(400, check.text())
        message_id = f"<{time.strftime('%Y%m%d%H%M%S')}.{new_id(12)}@{domain}>"
        custom = self._custom_data(form)
        tags = [f.value for f in form.get("o:tag", [])]
        accepted = [
            Accepted(
                address,
                message_id,
                request.path,
                request.index,
                kind,
                merged_echo(
                    _substituted(custom, per_recipient.get(address, {})),
                    {"tags": tags} if tags else None,
                ),
                {name: [f.value for f in found] for name, found in form.items()},
            )
            for kind, addresses in recipients.items()
            for address in addresses
        ]
        return Answer(200, {"id": message_id, "message": "Queued. Thank you."}, accepted=accepted)

    @staticmethod
    def _addresses(form: dict[str, list[Field]], kind: str, check: Check) -> list[str]:
        found = []
        for field in form.get(kind, []):
            for item in field.value.split(","):
                address = bare(item)
                if not is_address(address):
                    check.add(kind, f"'{kind}' parameter is not a valid address: {item.strip()!r}")
                else:
                    found.append(address)
        return found

    @staticmethod
    def _recipient_variables(
        form: dict[str, list[Field]], check: Check
    ) -> dict[str, dict[str, Any]]:
        if "recipient-variables" not in form:
            return {}
        try:
            value = orjson.loads(form["recipient-variables"][0].value)
        except orjson.JSONDecodeError:
            check.add("recipient-variables", "is not valid JSON")
            return {}
        if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
            check.add("recipient-variables", "must be a JSON object of objects, by address")
            return {}
        return {address.lower(): variables for address, variables in value.items()}

    @staticmethod
    def _custom_data(form: dict[str, list[Field]]) -> dict[str, Any]:
        custom: dict[str, Any] = {}
        for field in form.get("h:X-Mailgun-Variables", []):
            custom.update(merged_echo({"": field.value}))
        custom.pop("", None)
        for name, found in form.items():
            if name.startswith("v:"):
                custom[name[2:]] = found[-1].value
        return custom


def _substituted(custom: dict[str, Any], variables: dict[str, Any]) -> dict[str, Any]:
    """``%recipient.key%`` in custom data replaced from the recipient's variables."""

    def one(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        return _RECIPIENT.sub(lambda m: str(variables.get(m.group(1), "")), value)

    return {key: one(value) for key, value in custom.items()}
