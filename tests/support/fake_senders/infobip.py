"""Infobip e-mail v4: ``POST /email/4/messages`` (JSON) and ``GET /email/4/logs``,
``Authorization: App <key>``.

Sources (all through ``/work/shared/docs/sending-infobip.md``, which reads Infobip's OpenAPI
spec 3.210.0, its SDKs and docs):
- §2.1 the request tree: messages[]{sender, destinations[]{to[]{destination, messageId (≤200),
  placeholders (a JSON *string*)}, cc[], bcc[], replyTo, preserveRecipients}, content{subject,
  text, html, ampHtml, templateId, defaultPlaceholders, attachments, inlineImages, headers, ...},
  options, webhooks{delivery{url, intermediateReport, notify}, contentType, callbackData
  (≤4000)}, ips, placeholdersMasking, storage}, options{schedule{bulkId (≤100), sendAt},
  tracking, clientPriority}; ≤1000 recipients (to + cc + bcc) per message;
- §2.2 the answer ``{"bulkId", "messages": [{"messageId", "destination", "status": {groupId 1,
  PENDING, id 7, PENDING_ENROUTE}}]}`` (``destination``, not ``to``); errors in the ``ApiError``
  envelope ``{"errorCode": "E400", "description", "action", "violations": [{"property",
  "violation"}], "resources"}``;
- §4 both 429 bodies: ``{"errorCode": "E429", ...}`` and the older
  ``{"requestError": {"serviceException": {"messageId": "TOO_MANY_REQUESTS", ...}}}``; no
  Retry-After or rate-limit header is documented;
- §6 the logs: ``GET /email/4/logs?messageId=a,b`` (≤2048 characters), ``bulkId``,
  ``generalStatus``, ``limit`` ≤1000, cursor paging; the last 48 h; **no callbackData** in logs;
  opt-in idempotency on the client messageId ("retries with the same messageId within the
  configured grace period are rejected during processing");
- ``/work/shared/payloads/infobip/email_messages_v4_*`` and ``SYNTH_email_v4_logs_response.json``.
What a duplicate messageId gets is not documented (open question 1-2 of sending-infobip.md): with
``idempotent`` on, the fake answers 200 PENDING and ledgers nothing new (the duplicate goes to
``duplicates``); with it off (Infobip's default) it sends a second copy.
"""

from __future__ import annotations

import base64
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from support.fake_senders.checks import Check
from support.fake_senders.core import Answer, FakeSender, Request, Route
from support.fake_senders.ledger import Accepted, merged_echo

MESSAGES = "/email/4/messages"
LOGS = "/email/4/logs"
#: recipients (to + cc + bcc) per message
BATCH_MAX = 1000
PENDING = {"groupId": 1, "groupName": "PENDING", "id": 7, "name": "PENDING_ENROUTE",
           "description": "Message sent to next instance"}  # fmt: skip
LEGACY_429 = {"requestError": {"serviceException": {"messageId": "TOO_MANY_REQUESTS",
                                                    "text": "Too many requests"}}}  # fmt: skip
MESSAGE = {"sender", "destinations", "content", "options", "webhooks", "ips",
           "placeholdersMasking", "storage"}  # fmt: skip
DESTINATION = {"to", "cc", "bcc", "replyTo", "preserveRecipients"}
CONTENT = {"subject", "text", "html", "ampHtml", "templateId", "defaultPlaceholders",
           "attachments", "inlineImages", "landingPagePlaceholders", "optoutLandingPageId",
           "templateLanguageVersion", "headers"}  # fmt: skip
_DESCRIPTIONS = {400: "Request cannot be processed.", 401: "Unauthorized", 403: "Forbidden",
                 429: "Too many requests sent.", 500: "Something went wrong."}  # fmt: skip


class FakeInfobipSender(FakeSender):
    name = "infobip"

    def __init__(self, api_key: str = "infobip-fake-key") -> None:
        super().__init__()
        self.api_key = api_key
        #: Infobip's opt-in idempotency on the client messageId
        self.idempotent = False
        #: messages reused while ``idempotent`` (Infobip would report them as duplicates)
        self.duplicates: list[Accepted] = []
        #: seconds before an accepted message shows in /email/4/logs
        self.log_lag = 0.0
        #: messageId -> status object the logs report (default: PENDING)
        self.log_status: dict[str, dict[str, Any]] = {}
        #: messageId -> (monotonic time, the row, bulkId, sender, sentAt as Infobip writes it)
        self._logged: dict[str, tuple[float, Accepted, str, str, str]] = {}

    def routes(self) -> list[tuple[str, str, Route]]:
        return [("POST", MESSAGES, self._messages), ("GET", LOGS, self._logs)]

    def authenticate(self, request: Request) -> Answer | None:
        if request.header("Authorization") == f"App {self.api_key}":
            return None
        return self.error(401, "Invalid login details")

    def error(self, status: int, message: str, violations: list[Any] | None = None) -> Answer:
        code = f"E{status}" if status in _DESCRIPTIONS else f"E{status // 100 * 100}"
        return Answer(
            status,
            {
                "errorCode": code,
                "description": _DESCRIPTIONS.get(status, message),
                "action": message,
                "violations": violations or [],
                "resources": [],
            },
        )

    def throttle(
        self,
        *,
        times: int = 1,
        retry_after: float = 1,
        path: str | None = None,
        form: str = "e429",
    ) -> None:
        """``form``: ``e429`` (the newer body) or ``legacy`` (``requestError``)."""
        if form == "legacy":
            self.fail(429, times=times, path=path, body=LEGACY_429)
        else:
            super().throttle(times=times, retry_after=retry_after, path=path)

    def _messages(self, request: Request) -> Answer:
        check = Check()
        body = check.obj(
            request.json(), "", required=("messages",), allowed=("messages", "options")
        )
        options = check.obj(
            body.get("options") or {}, "options", allowed=("schedule", "tracking", "clientPriority")
        )
        schedule = check.obj(
            options.get("schedule") or {}, "options.schedule", allowed=("bulkId", "sendAt")
        )
        check.string(schedule.get("bulkId"), "options.schedule.bulkId", most=100)
        messages = check.array(body.get("messages"), "messages", least=1)
        for n, message in enumerate(messages):
            self._check(check, message, f"messages[{n}]")
        if not check.ok:
            violations = [{"property": p, "violation": v} for p, v in check.problems]
            return self.error(
                400, "Check the syntax, violations and adjust the request.", violations
            )
        bulk_id = schedule.get("bulkId") or str(uuid.uuid4())
        results, accepted = [], []
        for message in messages:
            webhooks = message.get("webhooks") or {}
            callback = webhooks.get("callbackData")
            for destination in message["destinations"]:
                for kind in ("to", "cc", "bcc"):
                    for item in destination.get(kind) or []:
                        message_id = item.get("messageId") or str(uuid.uuid4())
                        address = str(item["destination"]).lower()
                        echo = merged_echo(
                            {"callbackData": callback} if callback else None,
                            {"messageId": message_id, "bulkId": bulk_id},
                        )
                        row = Accepted(
                            address, message_id, request.path, request.index, kind, echo, item
                        )
                        results.append(
                            {
                                "messageId": message_id,
                                "status": dict(PENDING),
                                "destination": item["destination"],
                            }
                        )
                        if self._seen(row, bulk_id, message.get("sender", "")):
                            continue
                        accepted.append(row)
        return Answer(200, {"bulkId": bulk_id, "messages": results}, accepted=accepted)

    def _seen(self, row: Accepted, bulk_id: str, sender: str) -> bool:
        """True if idempotency makes ``row`` a duplicate; else log it for /email/4/logs."""
        with self.lock:
            if self.idempotent and row.provider_id in self._logged:
                self.duplicates.append(row)
                return True
            sent_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"
            self._logged[row.provider_id] = (time.monotonic(), row, bulk_id, sender, sent_at)
            return False

    @staticmethod
    def _check(check: Check, message: Any, path: str) -> None:
        message = check.obj(message, path, required=("destinations", "content"), allowed=MESSAGE)
        content = check.obj(message.get("content"), f"{path}.content", allowed=CONTENT)
        if not content.get("templateId"):
            if not message.get("sender"):
                check.add(f"{path}.sender", "must not be null when templateId is absent")
            else:
                check.address(message["sender"], f"{path}.sender")
            if not content.get("subject"):
                check.add(f"{path}.content.subject", "must not be blank")
        check.string(content.get("subject"), f"{path}.content.subject", most=1000)
        if content.get("headers") is not None and not isinstance(content["headers"], str):
            check.add(f"{path}.content.headers", "must be a JSON string")
        webhooks = check.obj(
            message.get("webhooks") or {},
            f"{path}.webhooks",
            allowed=("delivery", "contentType", "callbackData"),
        )
        check.string(webhooks.get("callbackData"), f"{path}.webhooks.callbackData", most=4000)
        total = 0
        destinations = check.array(message.get("destinations"), f"{path}.destinations", least=1)
        for n, destination in enumerate(destinations):
            where = f"{path}.destinations[{n}]"
            destination = check.obj(destination, where, required=("to",), allowed=DESTINATION)
            for kind in ("to", "cc", "bcc"):
                items = check.array(destination.get(kind), f"{where}.{kind}", least=kind == "to")
                total += len(items)
                for m, item in enumerate(items):
                    at = f"{where}.{kind}[{m}]"
                    item = check.obj(
                        item,
                        at,
                        required=("destination",),
                        allowed=("destination", "messageId", "placeholders"),
                    )
                    check.address(item.get("destination"), f"{at}.destination", named=False)
                    check.string(item.get("messageId"), f"{at}.messageId", most=200)
                    if "placeholders" in item and not isinstance(item["placeholders"], str):
                        check.add(f"{at}.placeholders", "must be a JSON string")
        if total > BATCH_MAX:
            check.add(f"{path}.destinations", f"{total} recipients; the maximum is {BATCH_MAX}")

    def _logs(self, request: Request) -> Answer:
        query = {key: values[-1] for key, values in request.query.items()}
        wanted = query.get("messageId")
        if wanted is not None and len(wanted) > 2048:
            return self.error(400, "messageId is limited to 2048 characters")
        limit = int(query.get("limit", "50"))
        if not 1 <= limit <= 1000:
            return self.error(400, "limit must be 1..1000")
        ids = set(wanted.split(",")) if wanted else None
        now = time.monotonic()
        with self.lock:
            rows = [
                self._log(message_id, row, bulk_id, sender, sent_at)
                for message_id, (at, row, bulk_id, sender, sent_at) in self._logged.items()
                if now - at >= self.log_lag
                and (ids is None or message_id in ids)
                and query.get("bulkId") in (None, bulk_id)
            ]
        general = query.get("generalStatus")
        rows = [r for r in rows if general in (None, r["status"]["groupName"])]
        offset = int(base64.urlsafe_b64decode(query["cursor"]).decode()) if "cursor" in query else 0
        page = rows[offset : offset + limit]
        cursor: dict[str, Any] = {"limit": limit}
        if offset + limit < len(rows):
            cursor["nextCursor"] = base64.urlsafe_b64encode(str(offset + limit).encode()).decode()
        return Answer(200, {"results": page, "cursor": cursor})

    def _log(
        self, message_id: str, row: Accepted, bulk_id: str, sender: str, sent_at: str
    ) -> dict[str, Any]:
        # SYNTH_email_v4_logs_response.json; logs carry no callbackData (sending-infobip.md §6)
        return {
            "sender": sender,
            "destination": row.recipient,
            "bulkId": bulk_id,
            "messageId": message_id,
            "sentAt": sent_at,
            "messageCount": 1,
            "price": {"pricePerMessage": 0, "currency": "UNKNOWN"},
            "status": self.log_status.get(message_id, PENDING),
            "error": {
                "groupId": 0,
                "groupName": "OK",
                "id": 0,
                "name": "NO_ERROR",
                "description": "No Error",
                "permanent": False,
            },
        }
