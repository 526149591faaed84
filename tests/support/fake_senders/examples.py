"""Each provider's documented request, ready to send to its fake (the fakes' own tests use them).

``EXAMPLES[name].good(n)`` is a request for ``n`` recipients, ``user<i>@example.com``, each
carrying ``m<i>`` where the provider echoes per-recipient data (``ours(row)`` reads it back from
the ledger); ``bad`` is a malformed request. The shapes come from the providers' documentation
examples or anymail's tests, which copy them (see README.md).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from support.fake_senders.ledger import Accepted

Send = Callable[[httpx.Client, Any, Any, float], httpx.Response]


def addr(n: int) -> str:
    return f"user{n}@example.com"


def http_ok(answer: httpx.Response) -> bool:
    return answer.status_code < 300


def echoed_id(row: Accepted) -> str | None:
    value = row.echo.get("emailhook_id")
    return None if value is None else str(value)


@dataclass(frozen=True)
class Example:
    send: Send  # (client, fake, body, timeout) -> response
    good: Callable[[int], Any]
    bad: Any
    batch_max: int | None  # None: no documented maximum
    ok: Callable[[httpx.Response], bool] = http_ok
    #: our id for a ledger row; None where the provider echoes nothing per recipient
    ours: Callable[[Accepted], str | None] | None = echoed_id


def _json(path: str, headers: Callable[[Any], dict[str, str]]) -> Send:
    def send(client: httpx.Client, fake: Any, body: Any, timeout: float) -> httpx.Response:
        return client.post(fake.url + path, json=body, headers=headers(fake), timeout=timeout)

    return send


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _postmark(count: int) -> list[dict[str, Any]]:
    # https://postmarkapp.com/developer/user-guide/send-email-with-api/batch-emails
    return [
        {
            "From": "sender@example.com",
            "To": addr(n),
            "Subject": "Postmark test",
            "TextBody": "Hello dear Postmark user.",
            "HtmlBody": "<html><body><strong>Hello</strong> dear Postmark user.</body></html>",
            "MessageStream": "outbound",
            "Metadata": {"emailhook_id": f"m{n}"},
        }
        for n in range(count)
    ]


def _sendgrid(count: int) -> dict[str, Any]:
    # anymail tests/test_sendgrid_backend.py: one personalization per recipient, custom_args
    return {
        "personalizations": [
            {"to": [{"email": addr(n)}], "custom_args": {"emailhook_id": f"m{n}"}}
            for n in range(count)
        ],
        "from": {"email": "from@example.com"},
        "subject": "Subject",
        "content": [{"type": "text/plain", "value": "Text Body"}],
    }


def _mailgun(count: int) -> dict[str, Any]:
    # anymail tests/test_mailgun_backend.py test_merge_metadata: v:key = %recipient.v:key%
    variables = {addr(n): {"v:emailhook_id": f"m{n}"} for n in range(count)}
    return {
        "from": "from@mg.example.com",
        "to": [addr(n) for n in range(count)],
        "subject": "Subject",
        "text": "Body",
        "v:emailhook_id": "%recipient.v:emailhook_id%",
        "recipient-variables": json.dumps(variables),
    }


def _mailgun_send(client: httpx.Client, fake: Any, body: Any, timeout: float) -> httpx.Response:
    url = f"{fake.url}/v3/mg.example.com/messages"
    return client.post(url, data=body, auth=("api", fake.api_key), timeout=timeout)


def _resend(count: int) -> list[dict[str, Any]]:
    # https://resend.com/docs/dashboard/emails/batch-sending; metadata as anymail sends it
    return [
        {
            "from": "Acme <onboarding@example.com>",
            "to": [addr(n)],
            "subject": "hello world",
            "html": "<p>it works!</p>",
            "headers": {"X-Metadata": json.dumps({"emailhook_id": f"m{n}"})},
        }
        for n in range(count)
    ]


def _sparkpost(count: int) -> dict[str, Any]:
    # https://developers.sparkpost.com/api/transmissions/ (recipients[].metadata)
    return {
        "campaign_id": "postman_inline_both_example",
        "recipients": [
            {"address": {"email": addr(n)}, "metadata": {"emailhook_id": f"m{n}"}}
            for n in range(count)
        ],
        "content": {
            "from": {"email": "marketing@example.com", "name": "Example"},
            "subject": "Inline content",
            "text": "Hi there",
        },
    }


def _mailjet(count: int) -> dict[str, Any]:
    # anymail tests/test_mailjet_backend.py: Globals + one message per recipient, EventPayload
    return {
        "Globals": {
            "From": {"Email": "from@example.com"},
            "Subject": "Subject",
            "TextPart": "Body",
        },
        "Messages": [
            {"To": [{"Email": addr(n)}], "EventPayload": json.dumps({"emailhook_id": f"m{n}"})}
            for n in range(count)
        ],
    }


def _mandrill(count: int) -> dict[str, Any]:
    # anymail tests/test_mandrill_backend.py test_merge_metadata (recipient_metadata)
    return {
        "message": {
            "from_email": "from@example.com",
            "subject": "Subject",
            "text": "Body",
            "to": [{"email": addr(n), "type": "to"} for n in range(count)],
            "preserve_recipients": False,
            "recipient_metadata": [
                {"rcpt": addr(n), "values": {"emailhook_id": f"m{n}"}} for n in range(count)
            ],
        }
    }


def _mandrill_send(client: httpx.Client, fake: Any, body: Any, timeout: float) -> httpx.Response:
    body = {"key": fake.api_key, **body} if isinstance(body, dict) else body
    url = f"{fake.url}/api/1.0/messages/send.json"
    return client.post(url, json=body, timeout=timeout)


def _brevo(count: int) -> dict[str, Any]:
    # https://developers.brevo.com/docs/batch-send-transactional-emails; anymail's X-Mailin-custom
    return {
        "sender": {"email": "from@example.com", "name": "Sender"},
        "subject": "Subject",
        "htmlContent": "<p>Body</p>",
        "messageVersions": [
            {
                "to": [{"email": addr(n)}],
                "headers": {"X-Mailin-custom": json.dumps({"emailhook_id": f"m{n}"})},
            }
            for n in range(count)
        ],
    }


def _postal(count: int) -> dict[str, Any]:
    # anymail tests/test_postal_backend.py; Postal echoes only its tag
    return {
        "from": "from@example.com",
        "to": [addr(n) for n in range(count)],
        "subject": "Subject",
        "plain_body": "Body",
        "tag": "welcome",
    }


def _mailersend(count: int) -> list[dict[str, Any]]:
    # anymail tests/test_mailersend_backend.py (bulk-email: one email per recipient); MailerSend
    # echoes no metadata: our id rides in a tag
    return [
        {
            "from": {"email": "from@example.com"},
            "to": [{"email": addr(n)}],
            "subject": "Subject",
            "text": "Body",
            "html": "<p>Body</p>",
            "tags": [f"m{n}"],
        }
        for n in range(count)
    ]


def _unisender_go(count: int) -> dict[str, Any]:
    # anymail tests/test_unisender_go_backend.py (recipients[].metadata)
    return {
        "message": {
            "recipients": [
                {"email": addr(n), "metadata": {"emailhook_id": f"m{n}"}} for n in range(count)
            ],
            "from_email": "from@example.com",
            "subject": "Subject",
            "body": {"plaintext": "Body"},
        }
    }


def _infobip(count: int) -> dict[str, Any]:
    # shared/payloads/infobip/email_messages_v4_request__*; our id as the per-recipient messageId
    return {
        "messages": [
            {
                "sender": "jenny.smith@company.com",
                "destinations": [
                    {"to": [{"destination": addr(n), "messageId": f"m{n}"} for n in range(count)]}
                ],
                "content": {"subject": "Test message", "text": "Hello"},
                "webhooks": {"callbackData": json.dumps({"campaign": "c1"})},
            }
        ]
    }


def _ses_bulk(count: int) -> dict[str, Any]:
    # the SendBulkEmail request botocore serialises (anymail's ReplacementHeaders X-Metadata)
    return {
        "FromEmailAddress": "from@example.com",
        "DefaultContent": {"Template": {"TemplateName": "welcome", "TemplateData": "{}"}},
        "BulkEmailEntries": [
            {
                "Destination": {"ToAddresses": [addr(n)]},
                "ReplacementHeaders": [
                    {"Name": "X-Metadata", "Value": json.dumps({"emailhook_id": f"m{n}"})}
                ],
            }
            for n in range(count)
        ],
    }


def ses_send(path: str) -> Send:
    """Sign with botocore's SigV4 (as boto3 would) and post with httpx."""

    def send(client: httpx.Client, fake: Any, body: Any, timeout: float) -> httpx.Response:
        data = json.dumps(body).encode()
        request = AWSRequest("POST", fake.url + path, data=data,
                             headers={"Content-Type": "application/json"})  # fmt: skip
        request.context["timestamp"] = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        credentials = Credentials(fake.access_key, fake.secret_key)
        SigV4Auth(credentials, "ses", fake.region).add_auth(request)
        headers = dict(request.headers.items())
        return client.post(fake.url + path, content=data, headers=headers, timeout=timeout)

    return send


def _postal_ok(answer: httpx.Response) -> bool:
    return answer.status_code == 200 and answer.json().get("status") == "success"


def _mailersend_tag(row: Accepted) -> str | None:
    tags = row.echo.get("tags")
    return str(tags[0]) if tags else None


def _infobip_id(row: Accepted) -> str | None:
    return str(row.echo.get("messageId"))


EXAMPLES: dict[str, Example] = {
    "amazon_ses": Example(
        ses_send("/v2/email/outbound-bulk-emails"),
        _ses_bulk,
        {"DefaultContent": {}, "BulkEmailEntries": [{"Destination": {"ToAddresses": 3}}]},
        50,
    ),
    "brevo": Example(
        _json("/v3/smtp/email", lambda f: {"api-key": f.api_key}),
        _brevo,
        {"sender": {"email": "not-an-address"}, "to": [{"name": "no email"}]},
        1000,
    ),
    "infobip": Example(
        _json("/email/4/messages", lambda f: {"Authorization": f"App {f.api_key}"}),
        _infobip,
        {"messages": [{"destinations": [{"to": [{"destination": "nobody"}]}], "content": {}}]},
        1000,
        ours=_infobip_id,
    ),
    "mailersend": Example(
        _json("/v1/bulk-email", lambda f: {"Authorization": f"Bearer {f.api_key}"}),
        _mailersend,
        [{"from": {"email": "from@example.com"}, "to": [{"email": "nobody"}], "text": "x"}],
        500,
        ours=_mailersend_tag,
    ),
    "mailgun": Example(
        _mailgun_send,
        _mailgun,
        {"from": "from@mg.example.com", "to": "not-an-address", "text": "x"},
        1000,
    ),
    "mailjet": Example(
        _json("/v3.1/send", lambda f: {"Authorization": _basic(f.api_key, f.secret_key)}),
        _mailjet,
        {"Messages": [{"From": {"Email": "from@example.com"}, "To": [{"Email": "nobody"}]}]},
        50,
    ),
    "mandrill": Example(_mandrill_send, _mandrill, {"message": {"to": "nobody"}}, None),
    "postal": Example(
        _json("/api/v1/send/message", lambda f: {"X-Server-API-Key": f.api_key}),
        _postal,
        {"to": [addr(0)], "from": "from@example.com"},  # no body: NoContent
        50,
        ok=_postal_ok,
        ours=None,
    ),
    "postmark": Example(
        _json("/email/batch", lambda f: {"X-Postmark-Server-Token": f.server_token}),
        _postmark,
        {"From": "sender@example.com", "TextBody": "a single object, not the batch's array"},
        500,
    ),
    "resend": Example(
        _json("/emails/batch", lambda f: {"Authorization": f"Bearer {f.api_key}"}),
        _resend,
        [{"from": "a@example.com", "to": ["b@example.com"], "subject": "x", "tags": "no"}],
        100,
    ),
    "sendgrid": Example(
        _json("/v3/mail/send", lambda f: {"Authorization": f"Bearer {f.api_key}"}),
        _sendgrid,
        {"personalizations": [{"to": [{"email": "x@example.com"}]}], "from": {}},
        1000,
    ),
    "sparkpost": Example(
        _json("/api/v1/transmissions", lambda f: {"Authorization": f.api_key}),
        _sparkpost,
        {"recipients": "everyone", "content": {}},
        None,
    ),
    "unisender_go": Example(
        _json("/en/transactional/api/v1/email/send.json", lambda f: {"X-API-KEY": f.api_key}),
        _unisender_go,
        {"message": {"recipients": [{"name": "no email"}]}},
        500,
    ),
}
