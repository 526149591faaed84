"""POST /webhooks/<provider> through the real Flask app, inbox and worker: every provider's
real samples, signed by the test with keys it makes, are stored once each in the one
vocabulary; a repost stores nothing; a request that does not prove its sender keeps nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from emailhook.adapters.db.models import EmailCallback, InboxBody
from emailhook.providers import registry
from emailhook.providers.base import StoredRequest
from support.provider_app import NOT_WEBHOOKS, App, _app
from support.provider_posts import PROVIDER_NAMES, Senders
from support.services import fresh_postgres_database
from support.signing import LocalServer, local_server, sample_names

#: (provider, sample, rows by (email, event_type): event_type, bounce_class, reject_reason,
#: email, id_externo, qj_contact_id) — the values each provider's own fields give
EXPECTED: list[tuple[str, str, list[tuple[Any, ...]]]] = [
    ("amazon_ses", "multiple_bounce_event", [
        ("bounced", "hard", None, "jane@example.com",
         "00000137860315fd-34208509-5b74-41f3-95c5-22c1edc3c924-000000", None),
        ("bounced", "hard", None, "richard@example.com",
         "00000137860315fd-34208509-5b74-41f3-95c5-22c1edc3c924-000000", None),
    ]),
    ("amazon_ses", "variant_bounce_suppressed", [
        ("rejected", "hard", "bounced", "jane@example.com",
         "00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa0680-000000", None),
    ]),
    ("sendgrid", "variant_batch_with_bad_items", [
        ("clicked", None, None, "recipient@example.com",
         "_fjPjuJfRW-IPs5SuvYotg.filter0590p1mdw1.2098.57168CFC4B.0", None),
        ("delivered", None, None, "recipient@example.com",
         "wrfRRvF7Q0GgwUo2CvDmEA.filter0425p1mdw1.13037.57168B4A1D.0", None),
        ("opened", None, None, "recipient@example.com",
         "wrfRRvF7Q0GgwUo2CvDmEA.filter0425p1mdw1.13037.57168B4A1D.0", None),
    ]),
    ("sendgrid", "variant_processed_custom_args", [
        ("queued", None, None, "recipient@example.com",
         "wrfRRvF7Q0GgwUo2CvDmEA.filter0425p1mdw1.13037.57168B4A1D.0", 4711),
    ]),
    ("mailgun", "variant_opened_with_id_and_contact", [
        ("opened", None, None, "recipient@example.com",
         "<20180812213139.1.BC6694A917BB7E6A@example.org>", 4711),
    ]),
    ("mailgun", "failed_temporary_event", [
        ("deferred", "soft", None, "undeliverable@nomx.example.com",
         "<20180812214638.1.4A7D468E9BC18C5D@example.org>", None),
    ]),
    ("postmark", "variant_soft_bounce", [
        ("bounced", "soft", None, "soft@example.com", "2706ee8a-737c-4285-b032-ccd317af53ed", None),
    ]),
    ("postmark", "variant_delivered_contact_metadata", [
        ("delivered", None, None, "recipient@example.com",
         "883953f4-6105-42a2-a16a-77a8eac79483", 4711),
    ]),
    ("resend", "variant_delivered_tags", [
        ("delivered", None, None, "to@example.org", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", 4711),
    ]),
    ("resend", "sent_event", [
        ("sent", None, None, "to2@example.org", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", None),
        ("sent", None, None, "to@example.org", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", None),
    ]),
    ("sparkpost", "variant_rcpt_meta_contact", [
        ("bounced", "soft", "bounced", "full@example.com", "65832150921904138", 4712),
        ("delivered", None, None, "recipient@example.com", "65832150921904138", 4711),
    ]),
    ("mailjet", "variant_preblocked_and_contact", [
        # MessageID beyond 2**53: kept exactly, as text
        ("bounced", "soft", "bounced", "full@example.com", "9007199254740995", None),
        ("rejected", None, "bounced", "gone@example.com", "9007199254740993", 4711),
    ]),
    ("mandrill", "variant_reject_and_contact", [
        ("rejected", None, "bounced", "bounced@example.com",
         "abcdef012345789abcdef012345790", 4711),
        ("bounced", "soft", None, "full@example.com", "abcdef012345789abcdef012345791", None),
    ]),
    ("brevo", "variant_batch", [
        ("delivered", None, None, "recipient@example.com",
         "<201803011158.9876543210@smtp-relay.mailin.fr>", 4711),
        ("rejected", None, "unsubscribed", "unsub@example.com",
         "<201803011158.9876543211@smtp-relay.mailin.fr>", None),
    ]),
    ("postal", "failed_event", [
        ("bounced", "hard", None, "failed@example.com", "1571", None),
    ]),
    ("mailersend", "soft_bounced_event", [
        ("bounced", "soft", "bounced", "notauser@example.com", "62fb66bef54a112e920b5493", None),
    ]),
    ("unisender_go", "variant_suppressed_and_contact", [
        ("deferred", "soft", None, "retry@example.com", "1a3Q2V-0000OZ-S0", None),
        ("rejected", "hard", "unsubscribed", "unsub@example.com", "1a3Q2V-0000OZ-S0", 4711),
    ]),
    ("unisender_go", "multiple_event_option", [
        ("delivered", None, None, "cc@example.com", "1sn15Z-0007Le-GtVN", None),
        ("sent", None, None, "to@example.com", "1sn15Z-0007Le-GtVN", None),
    ]),
]  # fmt: skip


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
def app(tmp_path: Path, senders: Senders) -> Iterator[App]:
    made = _app(tmp_path, senders)
    yield made
    made.close()


@pytest.mark.parametrize(
    ("provider", "name", "expected"), EXPECTED, ids=[f"{p}-{n}" for p, n, _ in EXPECTED]
)
def test_a_signed_sample_is_stored_once_with_its_provider_vocabulary_and_contact(
    app: App, senders: Senders, provider: str, name: str, expected: list[tuple[Any, ...]]
) -> None:
    body_id = app.store(senders.post(provider, name))
    assert app.rows(body_id) == [(provider, *row) for row in expected]
    stored = app.count()
    # the provider retries the same event (signed again, now): stored once all the same
    app.store(senders.post(provider, name))
    assert app.count() == stored == len(expected)


def _distinct_keys(app: App, bodies: list[int]) -> int:
    """How many distinct events the kept bodies hold, by the providers' own parsing, less
    those whose recipient is not an address (``invalid@invalid`` of SendGrid's and Mailjet's
    samples: set aside, never stored)."""
    by_name, keys = registry.parsers(), set()
    with app.database.sessions() as session:
        for row in session.execute(select(InboxBody).where(InboxBody.id.in_(bodies))).scalars():
            stored = StoredRequest(row.body, row.content_type or "", row.headers or {})
            keys |= {e.event_key for e in by_name[row.provider].parse_checked(stored).events}
    return len(keys)


ALL_SAMPLES = [
    (provider, name)
    for provider in PROVIDER_NAMES
    for name in sample_names(provider)
    if (provider, name) not in NOT_WEBHOOKS
]


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_every_sample_of_every_provider_is_stored_once_and_reposts_store_nothing(
    tmp_path: Path, senders: Senders, backend: str
) -> None:
    if backend == "sqlite":
        _every_sample_once(_app(tmp_path, senders), senders)
        return
    with fresh_postgres_database(migrated=True) as url:
        _every_sample_once(_app(tmp_path, senders, database_url=url), senders)


def _post_all(app: App, senders: Senders) -> list[int]:
    answers = [app.send(senders.post(provider, name)) for provider, name in ALL_SAMPLES]
    assert [a.status_code for a in answers] == [200] * len(ALL_SAMPLES)
    # a control message (SparkPost's ping, SNS confirmations) is answered with nothing kept
    bodies = [int(a.get_json()["id"]) for a in answers if "id" in a.get_json()]
    assert len(app.processor.process(bodies).done) == len(bodies)
    return bodies


def _every_sample_once(app: App, senders: Senders) -> None:
    try:
        bodies = _post_all(app, senders)
        stored = app.count()
        assert stored == _distinct_keys(app, bodies) > 120
        with app.database.sessions() as session:
            providers = set(session.execute(select(EmailCallback.provider).distinct()).scalars())
        assert providers == set(PROVIDER_NAMES)
        # every provider sends it all again (new signatures, new Mailgun tokens): nothing new
        _post_all(app, senders)
        assert app.count() == stored
    finally:
        app.close()
