"""What POST /webhooks/<provider> refuses, through the real Flask app and inbox: a request
that does not prove its sender (missing, wrong or stale proof: 401, nothing kept), a foreign
SNS topic (403, never confirmed), a provider that is not enabled (404 naming its setting), a
body that is not the provider's (400); and the probes and aliases it answers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from emailhook import create_app
from emailhook.adapters.db.models import InboxBody
from emailhook.settings import Settings
from support.provider_posts import CONFIRM_PATH, FOREIGN_TOPIC, PROVIDER_NAMES, Post, Senders
from support.signing import LocalServer, local_server

#: a sample per provider whose post is refused in every way below
SAMPLES = {
    "amazon_ses": "bounce_event",
    "sendgrid": "bounce_event",
    "mailgun": "delivered_event",
    "postmark": "bounce_event",
    "resend": "delivered_event",
    "sparkpost": "bounce_event",
    "mailjet": "bounce_event",
    "mandrill": "hard_bounce_event",
    "brevo": "hard_bounce",
    "postal": "delivered_event",
    "mailersend": "hard_bounced_event",
    "unisender_go": "hard_bounced_event",
}
#: headers that carry a provider's proof
PROOF_HEADERS = (
    "authorization",
    "x-twilio-email-event-webhook-signature",
    "svix-signature",
    "x-postal-signature-256",
    "signature",
    "x-mandrill-signature",
)
#: providers whose scheme signs a time: a proof outside the window is stale
TIMED = ("sendgrid", "mailgun", "resend")


@pytest.fixture(scope="module")
def sns_server() -> Iterator[LocalServer]:
    with local_server() as server:
        yield server


@pytest.fixture(scope="module")
def senders(sns_server: LocalServer) -> Senders:
    made = Senders(sns_server.base_url)
    sns_server.routes.update(made.routes())
    return made


@pytest.fixture
def app(tmp_path: Path, senders: Senders) -> Iterator[Flask]:
    settings = Settings(
        data_dir=tmp_path, sqlite_synchronous="NORMAL", intake="database", **senders.settings()
    )
    made = create_app(settings)
    yield made
    made.extensions["emailhook"].database.engine.dispose()
    made.extensions["emailhook"].reads.engine.dispose()


def kept(app: Flask) -> int:
    with app.extensions["emailhook"].database.sessions() as session:
        return int(session.execute(select(func.count(InboxBody.id))).scalar_one())


def send(client: FlaskClient, post: Post) -> Any:
    return client.post(post.path, data=post.body, headers=post.headers)


def without_proof(post: Post) -> Post:
    headers = {k: v for k, v in post.headers.items() if k not in PROOF_HEADERS}
    body = post.body
    if post.provider in ("amazon_ses", "mailgun", "unisender_go"):  # the proof is in the body
        data = json.loads(body)
        data.pop({"amazon_ses": "Signature", "mailgun": "signature"}.get(post.provider, "auth"))
        body = json.dumps(data).encode()
    return replace(post, body=body, headers=headers)


@pytest.mark.parametrize("provider", PROVIDER_NAMES)
def test_a_post_without_its_proof_is_401_and_nothing_is_kept(
    app: Flask, senders: Senders, provider: str
) -> None:
    answer = send(app.test_client(), without_proof(senders.post(provider, SAMPLES[provider])))
    assert answer.status_code == 401
    assert answer.get_json() == {"error": "unauthorized", "message": "authentication required"}
    assert kept(app) == 0


@pytest.mark.parametrize("provider", PROVIDER_NAMES)
def test_a_post_signed_with_a_key_not_configured_is_401_and_nothing_is_kept(
    app: Flask, senders: Senders, sns_server: LocalServer, provider: str
) -> None:
    impostor = Senders(sns_server.base_url)  # keys of its own, same certificate URL
    sns_server.routes[f"/impostor{id(impostor)}"] = impostor.sns.pem
    post = impostor.post(provider, SAMPLES[provider])
    assert send(app.test_client(), post).status_code == 401
    assert kept(app) == 0


@pytest.mark.parametrize("provider", TIMED)
def test_a_post_signed_outside_the_freshness_window_is_401(
    app: Flask, senders: Senders, provider: str
) -> None:
    stale = datetime.now(UTC) - timedelta(hours=1)
    post = senders.post(provider, SAMPLES[provider], now=stale)
    assert send(app.test_client(), post).status_code == 401
    assert kept(app) == 0


def test_a_mailgun_token_replayed_with_another_body_is_401(app: Flask, senders: Senders) -> None:
    post = senders.post("mailgun", "delivered_event")
    data = json.loads(post.body)
    data["event-data"]["recipient"] = "someone.else@example.com"  # the captured token, forged
    forged = replace(post, body=json.dumps(data).encode())
    client = app.test_client()
    assert [send(client, p).status_code for p in (post, forged)] == [200, 401]
    assert kept(app) == 1


def test_mailgun_retrying_the_same_request_is_accepted(app: Flask, senders: Senders) -> None:
    # a retry of a request not answered 2xx carries the same token and body: let in (its
    # events are stored once by their keys), or the events would never be accepted
    post = senders.post("mailgun", "delivered_event")
    client = app.test_client()
    assert [send(client, post).status_code for _ in range(2)] == [200, 200]


def test_a_basic_auth_provider_asks_for_credentials(app: Flask, senders: Senders) -> None:
    answer = send(app.test_client(), without_proof(senders.post("postmark", "bounce_event")))
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"].startswith("Basic ")


def test_a_notification_of_a_foreign_sns_topic_is_403_and_nothing_is_kept(
    app: Flask, senders: Senders
) -> None:
    post = senders.sns_post(senders.ses_envelope("bounce_event", topic=FOREIGN_TOPIC))
    assert send(app.test_client(), post).status_code == 403
    assert kept(app) == 0


def test_a_subscription_of_our_topic_is_confirmed_and_a_foreign_one_never(
    app: Flask, senders: Senders, sns_server: LocalServer
) -> None:
    client = app.test_client()
    foreign = senders.sns_post(
        senders.ses_envelope("subscription_confirmation", topic=FOREIGN_TOPIC)
    )
    sns_server.requests.clear()
    assert send(client, foreign).status_code == 403
    assert CONFIRM_PATH not in sns_server.requests
    ours = senders.sns_post(senders.ses_envelope("subscription_confirmation"))
    answer = send(client, ours)
    assert answer.status_code == 200
    assert answer.get_json()["events"] == 0
    assert CONFIRM_PATH in sns_server.requests
    assert kept(app) == 0


def test_a_provider_not_configured_is_404_naming_the_setting_that_enables_it(
    tmp_path: Path,
) -> None:
    app = create_app(Settings(data_dir=tmp_path, sqlite_synchronous="NORMAL"))
    client = app.test_client()
    answer = client.post("/webhooks/sendgrid", data=b"[]")
    assert answer.status_code == 404
    assert "EMAILHOOK_SENDGRID_PUBLIC_KEYS" in answer.get_json()["message"]
    brevo = client.post("/webhooks/brevo", data=b"{}").get_json()["message"]
    assert "EMAILHOOK_BREVO_BASIC_AUTH or EMAILHOOK_BREVO_BEARER_TOKENS" in brevo
    unknown = client.post("/webhooks/no_such_provider", data=b"{}")
    assert unknown.status_code == 404
    assert "no provider named 'no_such_provider'" in unknown.get_json()["message"]
    app.extensions["emailhook"].database.engine.dispose()
    app.extensions["emailhook"].reads.engine.dispose()


def test_set_up_probes_are_answered_and_other_methods_are_405(app: Flask) -> None:
    client = app.test_client()
    assert client.head("/webhooks/mandrill").status_code == 200
    assert client.get("/webhooks/unisender_go").status_code == 200
    refused = client.get("/webhooks/sendgrid")
    assert refused.status_code == 405
    assert refused.headers["Allow"] == "POST"
    assert kept(app) == 0


def test_a_signed_body_that_is_not_the_providers_is_400_and_not_kept(
    app: Flask, senders: Senders
) -> None:
    body = b'{"not": "a sendgrid batch"}'
    headers = {"content-type": "application/json", **senders.sendgrid.headers(body, _now())}
    answer = app.test_client().post("/webhooks/sendgrid", data=body, headers=headers)
    assert answer.status_code == 400
    assert kept(app) == 0


def test_webhooks_infobip_is_post_email_with_the_same_authentication(tmp_path: Path) -> None:
    app = create_app(
        Settings(data_dir=tmp_path, sqlite_synchronous="NORMAL", webhook_tokens="tok-9a8b7c6d")
    )
    client = app.test_client()
    body = b'{"notificationType": "OPENED", "recipient": "ana@example.com", "messageId": "m1"}'
    assert client.post("/webhooks/infobip", data=body).status_code == 401
    for path in ("/webhooks/infobip/tok-9a8b7c6d", "/webhooks/infobip?token=tok-9a8b7c6d"):
        answer = client.post(path, data=body)
        assert answer.status_code == 200
        assert answer.get_json()["shape"] == "tracking_event"
    app.extensions["emailhook"].database.engine.dispose()
    app.extensions["emailhook"].reads.engine.dispose()


def _now() -> int:
    return int(datetime.now(UTC).timestamp())


def test_a_confirmation_whose_subscribe_url_cannot_be_reached_is_503_for_sns_to_resend(
    app: Flask, senders: Senders, sns_server: LocalServer
) -> None:
    envelope = senders.ses_envelope("subscription_confirmation")
    envelope["SubscribeURL"] = sns_server.url("/no-such-confirmation")  # answers 404
    answer = send(app.test_client(), senders.sns_post(envelope))
    assert answer.status_code == 503
    assert answer.headers["Retry-After"]
    assert kept(app) == 0
