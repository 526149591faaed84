"""Amazon SES v2: ``SendEmail`` (``POST /v2/email/outbound-emails``) and ``SendBulkEmail``
(``POST /v2/email/outbound-bulk-emails``), REST-JSON, signed with SigV4.

Sources:
- botocore's own model of the API, ``botocore/data/sesv2/2019-09-27/service-2.json`` (read at run
  time: every field, type, length, enum and required member of the two requests is checked
  against it; the errors and their HTTP statuses: TooManyRequestsException 429, BadRequest,
  MessageRejected, LimitExceeded, AccountSuspended, SendingPaused, MailFromDomainNotVerified 400,
  NotFound 404; ``BulkEmailEntryResult.Status`` values such as MESSAGE_REJECTED,
  ACCOUNT_THROTTLED);
- https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_SendBulkEmail.html (a template is
  required, ``ReplacementHeaders``/``ReplacementTags`` per entry; at most 50 entries: the
  figure is second-hand in sending-anchors.md §2) and SES's 50-recipients-per-message quota for
  SendEmail (https://docs.aws.amazon.com/ses/latest/dg/quotas.html, not re-read here);
- botocore's rest-json error parsing: the code in ``x-amzn-ErrorType``, the text in the body's
  ``message``;
- anymail ``backends/amazon_ses.py`` (metadata and tags as ``X-Metadata``/``X-Tag`` headers of the
  Raw message or ``ReplacementHeaders``; optional SES message tags) and GOV.UK Notify (SES's
  429 is a retryable throttle).
SES accepts a recipient on the account's suppression list and drops it later
(``OnAccountSuppressionList``): ``suppress()`` changes nothing for SendEmail; for SendBulkEmail the
fake answers that entry with the status given (default MESSAGE_REJECTED), as SES does per entry.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import secrets
import uuid
from functools import cache
from typing import Any

import botocore.session

from support.fake_senders.checks import Check, bare
from support.fake_senders.core import Answer, FakeSender, Request, Route
from support.fake_senders.ledger import Accepted, merged_echo
from support.fake_senders.sigv4 import check_signature

SEND = "/v2/email/outbound-emails"
BULK = "/v2/email/outbound-bulk-emails"
#: entries per SendBulkEmail call
BATCH_MAX = 50
#: recipients (To + Cc + Bcc) per message
RECIPIENTS_MAX = 50
#: the error code each status stands for when a fault answers it
CODES = {400: "BadRequestException", 404: "NotFoundException", 429: "TooManyRequestsException"}


@cache
def _operation(name: str) -> Any:
    return botocore.session.get_session().get_service_model("sesv2").operation_model(name)


class FakeAmazonSES(FakeSender):
    name = "amazon_ses"

    def __init__(
        self,
        access_key: str = "AKIDFAKESESKEY000000",
        secret_key: str = "fake-ses-secret-key",
        region: str = "us-east-1",
    ) -> None:
        super().__init__()
        self.access_key = access_key
        self.secret_key = secret_key
        self.region = region

    def routes(self) -> list[tuple[str, str, Route]]:
        return [("POST", SEND, self._send), ("POST", BULK, self._bulk)]

    def authenticate(self, request: Request) -> Answer | None:
        refusal = check_signature(
            request, self.url, {self.access_key: self.secret_key}, self.region, "ses"
        )
        if refusal is None:
            return None
        return self._error(refusal.status, refusal.code, refusal.message)

    def error(self, status: int, message: str) -> Answer:
        code = CODES.get(status, "InternalFailure" if status >= 500 else "BadRequestException")
        return self._error(status, code, message)

    def throttled(self, retry_after: float) -> Answer:
        return self._error(429, "TooManyRequestsException", "Maximum sending rate exceeded.")

    @staticmethod
    def _error(status: int, code: str, message: str) -> Answer:
        return Answer(
            status,
            {"message": message},
            {"x-amzn-ErrorType": f"{code}:"},
            content_type="application/x-amz-json-1.1",
        )

    def _invalid(self, check: Check) -> Answer:
        return self._error(400, "BadRequestException", check.text())

    def _send(self, request: Request) -> Answer:
        check = Check()
        body = request.json()
        _validate(_operation("SendEmail").input_shape, body, "", check)
        if not check.ok:
            return self._invalid(check)
        content = body["Content"]
        if sum(key in content for key in ("Simple", "Raw", "Template")) != 1:
            check.add("Content", "exactly one of Simple, Raw or Template is required")
        headers: dict[str, str] = {}
        destination = body.get("Destination") or {}
        if "Raw" in content:
            headers, destination = _raw(content["Raw"]["Data"], destination, check)
        elif not body.get("FromEmailAddress"):
            check.add("FromEmailAddress", "is required unless the content is Raw")
        else:
            check.address(body["FromEmailAddress"], "FromEmailAddress")
            for part in ("Simple", "Template"):
                for item in (content.get(part) or {}).get("Headers") or []:
                    headers[item["Name"]] = item["Value"]
        people = _people(destination, check)
        if not people:
            check.add("Destination", "at least one recipient is required")
        if len(people) > RECIPIENTS_MAX:
            return self._error(400, "MessageRejected", f"Recipient count exceeds 50: {len(people)}")
        if not check.ok:
            return self._invalid(check)
        message_id = _message_id()
        tags = {tag["Name"]: tag["Value"] for tag in body.get("EmailTags") or []}
        echo = merged_echo(tags, headers)
        accepted = [
            Accepted(address, message_id, request.path, request.index, kind, echo, body)
            for kind, address in people
        ]
        return Answer(200, {"MessageId": message_id}, accepted=accepted)

    def _bulk(self, request: Request) -> Answer:
        check = Check()
        body = request.json()
        _validate(_operation("SendBulkEmail").input_shape, body, "", check)
        if not check.ok:
            return self._invalid(check)
        template = (body["DefaultContent"] or {}).get("Template") or {}
        if not any(template.get(k) for k in ("TemplateName", "TemplateArn", "TemplateContent")):
            check.add("DefaultContent.Template", "a template is required")
        if not body.get("FromEmailAddress"):
            check.add("FromEmailAddress", "is required")
        entries = body["BulkEmailEntries"]
        if not 1 <= len(entries) <= BATCH_MAX:
            return self._error(
                400, "BadRequestException", f"BulkEmailEntries: {len(entries)}; allowed 1 to 50"
            )
        people = [_people(entry["Destination"], check) for entry in entries]
        if not check.ok:
            return self._invalid(check)
        default_tags = {tag["Name"]: tag["Value"] for tag in body.get("DefaultEmailTags") or []}
        default_headers = {h["Name"]: h["Value"] for h in template.get("Headers") or []}
        results, accepted = [], []
        for entry, recipients in zip(entries, people, strict=True):
            refused = [
                self.suppressed[a] or "MESSAGE_REJECTED"
                for _, a in recipients
                if a in self.suppressed
            ]
            if refused:
                results.append(
                    {
                        "Status": refused[0],
                        "Error": "Email address is on the account-level suppression list.",
                    }
                )
                continue
            message_id = _message_id()
            results.append({"Status": "SUCCESS", "MessageId": message_id})
            tags = {
                **default_tags,
                **{t["Name"]: t["Value"] for t in entry.get("ReplacementTags") or []},
            }
            headers = {
                **default_headers,
                **{h["Name"]: h["Value"] for h in entry.get("ReplacementHeaders") or []},
            }
            echo = merged_echo(tags, headers)
            accepted += [
                Accepted(address, message_id, request.path, request.index, kind, echo, entry)
                for kind, address in recipients
            ]
        return Answer(200, {"BulkEmailEntryResults": results}, accepted=accepted)


def _message_id() -> str:
    # the shape of SES's ids: 0100 + 12 hex + - + a UUID + -000000
    return f"0100{secrets.token_hex(6)}-{uuid.uuid4()}-000000"


def _people(destination: dict[str, Any], check: Check) -> list[tuple[str, str]]:
    people = []
    for kind, field in (("to", "ToAddresses"), ("cc", "CcAddresses"), ("bcc", "BccAddresses")):
        for n, address in enumerate(destination.get(field) or []):
            found = check.address(address, f"Destination.{field}[{n}]")
            if found:
                people.append((kind, found))
    return people


def _raw(
    data: str, destination: dict[str, Any], check: Check
) -> tuple[dict[str, str], dict[str, Any]]:
    """The Raw message's headers, and its recipients when Destination does not name them."""
    try:
        raw = base64.b64decode(data, validate=True)
    except ValueError:
        check.add("Content.Raw.Data", "is not base64")
        return {}, destination
    message = email.parser.BytesParser(policy=email.policy.default).parsebytes(raw)
    if not message["From"]:
        check.add("Content.Raw.Data", "the raw message has no From header")
    headers = {name: str(value) for name, value in message.items()}
    if not destination:
        destination = {
            field: [bare(a) for a in str(message[header]).split(",")]
            for field, header in (("ToAddresses", "To"), ("CcAddresses", "Cc"))
            if message[header]
        }
    return headers, destination


def _validate(shape: Any, value: Any, path: str, check: Check) -> None:
    """Check ``value`` (the JSON of the wire) against a botocore shape, recursively."""
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            check.add(path or "body", "must be an object")
            return
        for name in shape.required_members:
            if name not in value:
                check.add(_at(path, name), "is required")
        for name, item in value.items():
            if name not in shape.members:
                check.add(_at(path, name), "is not a member of " + shape.name)
            else:
                _validate(shape.members[name], item, _at(path, name), check)
    elif kind == "list":
        if not isinstance(value, list):
            check.add(path, "must be a list")
            return
        _bounds(shape, len(value), path, check)
        for n, item in enumerate(value):
            _validate(shape.member, item, f"{path}[{n}]", check)
    elif kind == "map":
        if not isinstance(value, dict):
            check.add(path, "must be a map")
    elif kind in ("string", "blob"):
        if not isinstance(value, str):
            check.add(path, f"must be a {kind} (a string on the wire)")
            return
        _bounds(shape, len(value), path, check)
        if kind == "string" and shape.enum and value not in shape.enum:
            check.add(path, f"must be one of {shape.enum}")
    elif kind == "boolean" and not isinstance(value, bool):
        check.add(path, "must be a boolean")
    elif kind in ("integer", "long") and not isinstance(value, int):
        check.add(path, "must be an integer")


def _bounds(shape: Any, size: int, path: str, check: Check) -> None:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and size < low:
        check.add(path, f"length {size} is below the minimum {low}")
    if high is not None and size > high:
        check.add(path, f"length {size} is above the maximum {high}")


def _at(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name
