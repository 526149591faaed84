"""Messages through the whole send path for the CLI and dashboard tests: a suppression
stored from a real report, a dispatch to the local fake Infobip, and its delivery report
posted back to ``POST /email`` and processed."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
from flask import Flask

from emailhook.adapters.http_send import HttpSender
from emailhook.composition.policies import soft_bounce_rule
from emailhook.composition.send import send_providers, send_retry_policy
from emailhook.service.receive.processing import Outcome, Processor
from emailhook.service.send.dispatch import Dispatcher
from support.fake_senders import FakeInfobipSender
from support.infobip_bodies import report, reports
from support.policies import retry, soft_bounces
from support.spool import post_bodies

#: Infobip's API key the tests configure and the fake expects
INFOBIP_KEY = "ib-key"


def send_settings(fake: FakeInfobipSender) -> dict[str, str]:
    """The environment that sends through ``fake`` (as the CLI reads it)."""
    return {"EMAILHOOK_INFOBIP_BASE_URL": fake.url, "EMAILHOOK_INFOBIP_API_KEY": INFOBIP_KEY}


def process(app: Flask, bodies: list[bytes]) -> Outcome:
    """POST each body to ``/email`` and store its events, as the worker would; return what
    the batch did."""
    ids = post_bodies(app, bodies)
    return Processor(
        app.extensions["emailhook"].database.sessions, retry(), soft_bounces=soft_bounces()
    ).process(ids)


def suppress_hard_bounce(app: Flask, email: str) -> None:
    """Put ``email`` on the suppression list through a permanent bounce report."""
    bounce = report(
        email, datetime.now(UTC), "UNDELIVERABLE", message_id="old-1", error_id=10, permanent=True
    )
    process(app, [reports(bounce)])


def dispatch(app: Flask, public_ids: list[str]) -> None:
    """Send ``public_ids`` to the provider now, as a worker's send task does."""
    services = app.extensions["emailhook"]
    settings = services.settings
    sender = HttpSender(settings.send_timeout_seconds)  # composition's dispatcher(), closed
    try:
        done = Dispatcher(
            services.database.sessions,
            send_providers(settings),
            sender,
            send_retry_policy(settings),
            call_timeout=settings.send_timeout_seconds,
            soft_bounces=soft_bounce_rule(settings),
        ).send(public_ids)
    finally:
        sender.close()
    assert done.sent == len(public_ids), done


def report_delivered(app: Flask, public_id: str, email: str, contact: int) -> None:
    """Post Infobip's delivery report of a sent message (our id is its messageId)."""
    delivered = report(email, datetime.now(UTC), "DELIVERED", message_id=public_id, contact=None)
    delivered["callbackData"] = orjson.dumps(
        {"qj_contact_id": contact, "emailhook_id": public_id}
    ).decode()
    process(app, [reports(delivered)])
