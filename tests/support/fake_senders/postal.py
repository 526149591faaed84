"""Postal (self-hosted): ``POST /api/v1/send/message`` (JSON), ``X-Server-API-Key``.

Source: Postal's own code, ``postalserver/postal@8ef89606``:
- ``app/controllers/legacy_api/base_controller.rb``: the answer is **always HTTP 200**; the
  outcome is ``status`` (``success``, ``error``, ``parameter-error``) with ``time``, ``flags``
  and ``data``; a missing key is error ``AccessDenied`` "Must be authenticated as a server.",
  an unknown one ``InvalidServerAPIKey``; JSON body or a ``params`` form field;
- ``app/controllers/legacy_api/send_controller.rb``: to, cc, bcc, from, sender, subject,
  reply_to, plain_body, html_body, bounce, tag, headers, attachments[{name, content_type,
  data}]; the error codes and their messages (NoRecipients, NoContent, TooManyToAddresses (50),
  TooManyCCAddresses, TooManyBCCAddresses, FromAddressMissing, UnauthenticatedFromAddress,
  AttachmentMissingName, AttachmentMissingData); the answer ``data``: ``message_id`` and
  ``messages`` = {recipient address: {id, token}};
- ``app/models/outgoing_message_prototype.rb``: one message per recipient (``id`` an integer,
  ``token`` a random string), ``message_id`` ``<uuid>@<return path domain>``.
Postal has no rate limit at its API (sending-anchors.md §2): the fake's ``throttle`` answers a
bare HTTP 429, as a proxy in front of it might.
"""

from __future__ import annotations

import itertools
import secrets
import uuid
from typing import Any

from support.fake_senders.checks import bare, is_address
from support.fake_senders.core import Answer, FakeSender, Request, Route
from support.fake_senders.ledger import Accepted, merged_echo

SEND = "/api/v1/send/message"
#: each of to, cc and bcc
RECIPIENTS_MAX = 50
FIELDS = {"to", "cc", "bcc", "from", "sender", "subject", "reply_to", "plain_body", "html_body",
          "bounce", "tag", "headers", "attachments"}  # fmt: skip
MESSAGES = {
    "NoRecipients": "There are no recipients defined to receive this message",
    "NoContent": "There is no content defined for this e-mail",
    "TooManyToAddresses": "The maximum number of To addresses has been reached (maximum 50)",
    "TooManyCCAddresses": "The maximum number of CC addresses has been reached (maximum 50)",
    "TooManyBCCAddresses": "The maximum number of BCC addresses has been reached (maximum 50)",
    "FromAddressMissing": "The From address is missing and is required",
    "UnauthenticatedFromAddress": (
        "The From address is not authorised to send mail from this server"
    ),
    "AttachmentMissingName": "An attachment is missing a name",
    "AttachmentMissingData": "An attachment is missing data",
}
_IDS = itertools.count(1000)


class FakePostal(FakeSender):
    name = "postal"

    def __init__(self, api_key: str = "postal-server-key", domains: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.api_key = api_key
        #: sender domains the server may send from (empty: any)
        self.domains = set(domains)

    def routes(self) -> list[tuple[str, str, Route]]:
        return [("POST", SEND, self._send)]

    def authenticate(self, request: Request) -> Answer | None:
        key = request.header("X-Server-API-Key")
        if not key:
            return self._status(
                "error", {"code": "AccessDenied", "message": "Must be authenticated as a server."}
            )
        if key != self.api_key:
            message = "The API token provided in X-Server-API-Key was not valid."
            return self._status(
                "error", {"code": "InvalidServerAPIKey", "message": message, "token": key}
            )
        return None

    def error(self, status: int, message: str) -> Answer:
        if status == 429:
            return Answer(429, b"Too Many Requests", content_type="text/plain")
        return Answer(
            status,
            f"<html><body><h1>{status}</h1>{message}</body></html>".encode(),
            content_type="text/html",
        )

    @staticmethod
    def _status(status: str, data: dict[str, Any]) -> Answer:
        return Answer(200, {"status": status, "time": 0.01, "flags": {}, "data": data})

    def _send(self, request: Request) -> Answer:
        params = request.json()
        if not isinstance(params, dict):
            return self._status("parameter-error", {"message": "params must be an object"})
        unknown = sorted(set(params) - FIELDS)
        if unknown:  # the real Postal ignores them: the fake is strict (a misspelt field)
            return self._status("parameter-error", {"message": f"unknown fields {unknown}"})
        if any(not isinstance(params.get(k), (str, list, type(None))) for k in ("to", "cc", "bcc")):
            return self._status("parameter-error", {"message": "to, cc and bcc are arrays"})
        lists = {kind: _addresses(params.get(kind)) for kind in ("to", "cc", "bcc")}
        code = self._invalid(params, lists)
        if code:
            return self._status("error", {"code": code, "message": MESSAGES[code]})
        message_id = f"{uuid.uuid4()}@psrp.example.com"
        messages, accepted = {}, []
        echo = merged_echo(
            params.get("headers"), {"tag": params["tag"]} if "tag" in params else None
        )
        for kind, addresses in lists.items():
            for address in addresses:
                found = {"id": next(_IDS), "token": secrets.token_urlsafe(9)[:12]}
                messages[address] = found
                accepted.append(
                    Accepted(
                        address, str(found["id"]), request.path, request.index, kind, echo, params
                    )
                )
        return Answer(
            200,
            {
                "status": "success",
                "time": 0.01,
                "flags": {},
                "data": {"message_id": message_id, "messages": messages},
            },
            accepted=accepted,
        )

    def _invalid(self, params: dict[str, Any], lists: dict[str, list[str]]) -> str | None:
        """The first of Postal's validation errors, in its order (outgoing_message_prototype)."""
        if not any(lists.values()):
            return "NoRecipients"
        for kind, code in (
            ("to", "TooManyToAddresses"),
            ("cc", "TooManyCCAddresses"),
            ("bcc", "TooManyBCCAddresses"),
        ):
            if len(lists[kind]) > RECIPIENTS_MAX:
                return code
        if not params.get("plain_body") and not params.get("html_body"):
            return "NoContent"
        if not params.get("from"):
            return "FromAddressMissing"
        sender = bare(str(params["from"]))
        if not is_address(sender) or (self.domains and sender.split("@")[1] not in self.domains):
            return "UnauthenticatedFromAddress"
        for attachment in params.get("attachments") or []:
            if not isinstance(attachment, dict) or not attachment.get("name"):
                return "AttachmentMissingName"
            if not attachment.get("data"):
                return "AttachmentMissingData"
        return None


def _addresses(value: Any) -> list[str]:
    """Postal takes an array or a comma-separated string; names are stripped."""
    items = value.split(",") if isinstance(value, str) else list(value or [])
    return [bare(str(item)) for item in items if str(item).strip()]
