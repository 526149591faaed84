"""Derived state across providers on a real database: one contact's status and one suppression
list from every provider's events, hard and soft bounces told apart by each provider's own
field, and drops of already suppressed addresses kept suppressed without being new bounces."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from emailhook.adapters.db.engine import Database
from emailhook.adapters.db.models import ContactEmailCount, ContactEmailState, SuppressedAddress
from emailhook.adapters.store import contact_state
from emailhook.providers.amazon_ses.webhook import AmazonSES
from emailhook.providers.base import Provider, WebhookRequest
from emailhook.providers.registry import default_values
from emailhook.providers.sendgrid.webhook import SendGrid
from emailhook.service.receive.intake import SessionWriter
from emailhook.service.receive.processing import Processor
from support.clock import Clock
from support.policies import new_intake, retry, soft_bounces

ADDRESS = "maria@example.com"
START = datetime(2026, 1, 1, 9, tzinfo=UTC)


def sendgrid(event: str, at: datetime, **fields: Any) -> tuple[Provider, bytes]:
    item = {
        "email": ADDRESS,
        "timestamp": int(at.timestamp()),
        "event": event,
        "sg_message_id": f"sg-{event}-{at.timestamp()}",
        "qj_contact_id": 7,  # a custom arg: merged into the event by SendGrid
        **fields,
    }
    return SendGrid(default_values(SendGrid)), json.dumps([item]).encode()


def ses_bounce(kind: str, at: datetime, **bounce: Any) -> tuple[Provider, bytes]:
    stamp = at.isoformat().replace("+00:00", "Z")
    record = {
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": kind,
            "bounceSubType": "General",
            "bouncedRecipients": [{"emailAddress": ADDRESS}],
            "timestamp": stamp,
            **bounce,
        },
        "mail": {
            "timestamp": stamp,
            "messageId": f"ses-{kind}-{at.timestamp()}",
            "destination": [ADDRESS],
            "tags": {"qj_contact_id": ["7"]},
        },
    }
    envelope = {
        "Type": "Notification",
        "MessageId": f"sns-{kind}-{at.timestamp()}",
        "TopicArn": "arn:aws:sns:us-east-1:1:t",
        "Message": json.dumps(record),
        "Timestamp": stamp,
    }
    return AmazonSES(default_values(AmazonSES)), json.dumps(envelope).encode()


def infobip(group: str, at: datetime, *, error_id: int = 0, permanent: bool = False) -> bytes:
    report = {
        "messageId": f"ib-{group}-{at.timestamp()}",
        "to": ADDRESS,
        "doneAt": at.isoformat(),
        "status": {"groupName": group},
        "error": {"id": error_id, "permanent": permanent},
        "callbackData": json.dumps({"qj_contact_id": 7}),
    }
    return json.dumps({"results": [report]}).encode()


def store(db: Database, clock: Clock, *bodies: bytes | tuple[Provider, bytes]) -> None:
    """Accept each body as its route does (Infobip's, or a provider's) and process them."""
    intake = new_intake(SessionWriter(db.sessions), clock=clock)
    ids = []
    for body in bodies:
        if isinstance(body, bytes):
            ids.append(intake.accept(body).body_id)
        else:
            provider, raw = body
            request = WebhookRequest(raw, {}, "application/json", "https://hooks.test/")
            ids.append(intake.accept_provider(provider, request).body_id)
    outcome = Processor(db.sessions, retry(), clock=clock, soft_bounces=soft_bounces()).process(
        [i for i in ids if i is not None]
    )
    assert not outcome.failed


def suppression(db: Database) -> tuple[str, datetime] | None:
    with db.sessions() as session:
        row = session.get(SuppressedAddress, ADDRESS)
        return (row.reason, row.since) if row else None


def state(db: Database) -> tuple[str, dict[str, int]]:
    with db.sessions() as session:
        status = session.execute(select(ContactEmailState.status)).scalar_one()
        counts = session.execute(select(ContactEmailCount.status, ContactEmailCount.events))
        return status, {row.status: row.events for row in counts}


def test_soft_bounces_of_three_providers_together_meet_the_rule(
    database: Database, clock: Clock
) -> None:
    # SES Transient, a SendGrid block (the sender's reputation: soft, never hard alone) and
    # an Infobip temporary error: three soft bounces within the window
    store(database, clock, ses_bounce("Transient", START))
    store(database, clock, sendgrid("bounce", START + timedelta(hours=1), type="blocked"))
    assert suppression(database) is None  # two soft bounces: not yet
    third = START + timedelta(hours=2)
    store(database, clock, infobip("UNDELIVERABLE", third, error_id=6010))
    assert suppression(database) == ("soft_bounces", third)
    assert state(database) == ("SOFT_BOUNCE", {"SOFT_BOUNCE": 3})


def test_a_providers_hard_bounce_suppresses_at_once_and_a_soft_one_does_not(
    database: Database, clock: Clock
) -> None:
    store(database, clock, ses_bounce("Transient", START))
    assert suppression(database) is None
    store(database, clock, ses_bounce("Permanent", START + timedelta(minutes=5)))
    assert suppression(database) == ("hard_bounce", START + timedelta(minutes=5))


def test_a_drop_of_an_already_suppressed_address_keeps_it_suppressed_not_bounced(
    database: Database, clock: Clock
) -> None:
    store(database, clock, sendgrid("dropped", START, reason="Bounced Address"))
    assert suppression(database) == ("provider_suppression", START)
    assert state(database) == ("SUPPRESSED", {"SUPPRESSED": 1})


def test_a_contacts_status_combines_every_providers_events(
    database: Database, clock: Clock
) -> None:
    store(
        database,
        clock,
        infobip("DELIVERED", START),
        sendgrid("open", START + timedelta(minutes=3)),
        sendgrid("delivered", START + timedelta(minutes=1)),
    )
    assert state(database) == ("OPENED", {"DELIVERED": 2, "OPENED": 1})
    # rebuilt from the stored events alone, the state is the same
    with database.sessions.begin() as session:
        contact_state.rebuild(session, soft_bounces())
    assert state(database) == ("OPENED", {"DELIVERED": 2, "OPENED": 1})
