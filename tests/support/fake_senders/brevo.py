"""Brevo: ``POST /v3/smtp/email`` (JSON), ``api-key`` header, 201 with the message id(s).

Sources:
- https://developers.brevo.com/reference/sendtransacemail (sender, to, cc, bcc, replyTo,
  subject, htmlContent, textContent, templateId, params, headers, attachment, tags,
  scheduledAt, batchId, messageVersions[{to, cc, bcc, replyTo, params, subject, htmlContent,
  textContent}]);
- https://developers.brevo.com/docs/batch-send-transactional-emails (≤1000 messageVersions);
- https://developers.brevo.com/docs/heterogenous-versions-batch-emails (``idempotencyKey`` in
  the JSON ``headers``, a UUID, TTL 30 minutes; a reused key "returns a duplicate_parameter error
  and does not process the request"; the 2023 changelog said 15 minutes);
- https://developers.brevo.com/docs/limit-headers (``x-sib-ratelimit-limit``, ``-remaining``,
  ``-reset`` on a 429);
- anymail ``backends/brevo.py`` / ``tests/test_brevo_backend.py`` (201 ``{"messageId":
  "<...@smtp-relay.mailin.fr>"}``, ``{"messageIds": [...]}`` for messageVersions in order;
  errors ``{"code": "invalid_parameter", "message": ...}``; metadata as the ``X-Mailin-custom``
  header, per version in its ``headers``).
Not confirmed: the HTTP status of the duplicate_parameter answer (the fake: 400) and the body of
a 401 (the fake: ``{"code": "unauthorized", "message": "Key not found"}``).
"""

from __future__ import annotations

import re
import secrets
import time
from typing import Any

from support.fake_senders.checks import Check
from support.fake_senders.core import Answer, FakeSender, Request, Route
from support.fake_senders.ledger import Accepted, merged_echo

SEND = "/v3/smtp/email"
#: messageVersions per call
BATCH_MAX = 1000
#: how long a used idempotencyKey is refused (seconds)
IDEMPOTENCY_TTL = 30 * 60
FIELDS = {"sender", "to", "cc", "bcc", "replyTo", "subject", "htmlContent", "textContent",
          "templateId", "params", "headers", "attachment", "tags", "scheduledAt", "batchId",
          "messageVersions"}  # fmt: skip
VERSION = {"to", "cc", "bcc", "replyTo", "params", "subject", "htmlContent", "textContent",
           "headers"}  # fmt: skip
_UUID = re.compile(r"[0-9a-fA-F-]{8,64}")


class FakeBrevo(FakeSender):
    name = "brevo"
    base_path = "/v3"

    def __init__(self, api_key: str = "xkeysib-fake") -> None:
        super().__init__()
        self.api_key = api_key
        #: idempotencyKey -> when it was first used (time.monotonic())
        self.idempotency_keys: dict[str, float] = {}

    def routes(self) -> list[tuple[str, str, Route]]:
        return [("POST", SEND, self._send)]

    def authenticate(self, request: Request) -> Answer | None:
        if request.header("api-key") == self.api_key:
            return None
        return Answer(401, {"code": "unauthorized", "message": "Key not found"})

    def error(self, status: int, message: str, code: str = "invalid_parameter") -> Answer:
        return Answer(status, {"code": code, "message": message})

    def throttled(self, retry_after: float) -> Answer:
        answer = self.error(429, "Too many requests", "too_many_requests")
        answer.headers = {
            "x-sib-ratelimit-limit": "1000",
            "x-sib-ratelimit-remaining": "0",
            "x-sib-ratelimit-reset": str(max(1, round(retry_after))),
        }
        return answer

    def _send(self, request: Request) -> Answer:
        check = Check()
        body = check.obj(request.json(), "", required=("sender",), allowed=FIELDS)
        check.address(check.obj(body.get("sender"), "sender").get("email"), "sender.email")
        headers = check.strings(body.get("headers") or {}, "headers")
        versions = check.array(body.get("messageVersions"), "messageVersions")
        if len(versions) > BATCH_MAX:
            return self.error(400, f"messageVersions: {len(versions)}; the maximum is 1000")
        if not versions and not body.get("to"):
            check.add("to", "is missing")
        if not body.get("templateId") and not body.get("htmlContent") and not versions:
            check.add("htmlContent", "htmlContent or templateId is required")
        groups = versions if versions else [body]
        for n, group in enumerate(groups):
            path = "" if not versions else f"messageVersions[{n}]"
            if versions:
                group = check.obj(group, path, required=("to",), allowed=VERSION)
            for kind in ("to", "cc", "bcc"):
                for m, item in enumerate(check.array(group.get(kind), f"{path}.{kind}")):
                    where = f"{path}.{kind}[{m}]"
                    email = check.obj(item, where, required=("email",)).get("email")
                    check.address(email, f"{where}.email", named=False)
        if not check.ok:
            code = "missing_parameter" if "is missing" in check.text() else "invalid_parameter"
            return self.error(400, check.text(), code)
        key = headers.get("idempotencyKey")
        if key is not None:
            refused = self._idempotency(key)
            if refused is not None:
                return refused
        return self._accept(body, headers, groups, request)

    def _idempotency(self, key: str) -> Answer | None:
        if not _UUID.fullmatch(key):
            return self.error(400, "idempotencyKey must be a UUID")
        now = time.monotonic()
        with self.lock:
            first = self.idempotency_keys.get(key)
            if first is not None and now - first < IDEMPOTENCY_TTL:
                return self.error(400, "idempotencyKey already used", "duplicate_parameter")
            self.idempotency_keys[key] = now
        return None

    def _accept(
        self,
        body: dict[str, Any],
        headers: dict[str, str],
        groups: list[dict[str, Any]],
        request: Request,
    ) -> Answer:
        ids, accepted = [], []
        tags = body.get("tags")
        for n, group in enumerate(groups):
            message_id = f"<{time.strftime('%Y%m%d%H%M')}.{secrets.randbelow(10**11)}.{n + 1}"
            message_id += "@smtp-relay.mailin.fr>"
            ids.append(message_id)
            echo = merged_echo(
                headers,
                group.get("headers") if group is not body else None,
                {"tags": tags} if tags else None,
            )
            for kind in ("to", "cc", "bcc"):
                for item in group.get(kind) or []:
                    accepted.append(
                        Accepted(
                            str(item["email"]).lower(),
                            message_id,
                            request.path,
                            request.index,
                            kind,
                            echo,
                            group,
                        )
                    )
        answer = {"messageIds": ids} if groups[0] is not body else {"messageId": ids[0]}
        return Answer(201, answer, accepted=accepted)
