"""Providers through the real server (granian) and a Celery worker: Amazon SES (its SNS
certificate fetched from a local server), SendGrid and Resend (its svix-id kept through the
spool) posted side by side with Infobip, each event stored once with its vocabulary."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from support.http_calls import http_post
from support.provider_posts import Post, Senders
from support.services import backend_urls, on_backend
from support.signing import LocalServer, local_server
from support.stack import Stack

SEED = Path(__file__).resolve().parents[1] / "data" / "seed"


@pytest.fixture(scope="module")
def sns_server() -> Iterator[LocalServer]:
    with local_server() as server:
        yield server


@pytest.fixture(scope="module")
def senders(sns_server: LocalServer) -> Senders:
    made = Senders(sns_server.base_url)
    sns_server.routes.update(made.routes())
    return made


@pytest.fixture(scope="module", params=[on_backend("sqlite+folder"), on_backend("postgres+redis")])
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, senders: Senders
) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("providers-" + request.param.replace("+", "-"))
    with backend_urls(request.param, workdir) as (database_url, broker_url):
        running = Stack(workdir, database_url, broker_url, extra_env=senders.env()).start()
        try:
            yield running
        finally:
            running.stop()


def send(stack: Stack, post: Post) -> httpx.Response:
    return http_post(
        stack.base_url + post.path, content=post.body, headers=post.headers, timeout=10
    )


POSTS = [
    ("amazon_ses", "multiple_bounce_event"),
    ("amazon_ses", "variant_bounce_transient"),
    ("sendgrid", "variant_batch_with_bad_items"),
    ("sendgrid", "variant_processed_custom_args"),
    ("resend", "variant_delivered_tags"),
    ("resend", "hard_bounced_event"),
]


def stored(stack: Stack) -> list[tuple[object, ...]]:
    rows = stack.rows(
        "SELECT provider, event_type, bounce_class, email, id_externo, qj_contact_id"
        " FROM email_callback WHERE provider <> 'infobip'"
        " ORDER BY provider, email, event_type, id_externo"
    )
    return [tuple(row.values()) for row in rows]


def test_providers_and_infobip_posted_side_by_side_are_stored_once_each(
    stack: Stack, senders: Senders
) -> None:
    answers = [send(stack, senders.post(provider, name)) for provider, name in POSTS]
    assert [a.status_code for a in answers] == [200] * len(POSTS)
    seeds = sorted(SEED.glob("*.json"))
    assert [stack.post(path.read_bytes()).status_code for path in seeds] == [200] * len(seeds)
    stack.wait_until_drained(60)
    rows = stored(stack)
    ses_id = "00000137860315fd-34208509-5b74-41f3-95c5-22c1edc3c924-000000"
    sg_open = "wrfRRvF7Q0GgwUo2CvDmEA.filter0425p1mdw1.13037.57168B4A1D.0"
    resend_id = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
    assert ("amazon_ses", "bounced", "hard", "jane@example.com", ses_id, None) in rows
    assert ("amazon_ses", "bounced", "hard", "richard@example.com", ses_id, None) in rows
    assert ("sendgrid", "queued", None, "recipient@example.com", sg_open, 4711) in rows
    assert ("resend", "delivered", None, "to@example.org", resend_id, 4711) in rows
    assert ("resend", "bounced", "hard", "bounced@resend.dev", resend_id, None) in rows
    assert any(r[:3] == ("amazon_ses", "bounced", "soft") for r in rows)  # Transient
    count = len(rows)
    # Infobip's seed: the same twelve rows as ever, now provider infobip with an event type
    infobip = stack.rows(
        "SELECT event_type, count(*) AS n FROM email_callback WHERE provider = 'infobip'"
        " GROUP BY event_type ORDER BY event_type"
    )
    assert sum(row["n"] for row in infobip) == 12
    assert "unknown" not in {row["event_type"] for row in infobip}
    # every provider retries everything: nothing stored twice
    again = [send(stack, senders.post(provider, name)) for provider, name in POSTS]
    assert [a.status_code for a in again] == [200] * len(POSTS)
    stack.wait_until_drained(60)
    assert len(stored(stack)) == count
    assert stack.count_events() == stack.count_distinct_keys() == count + 12


def test_a_forged_provider_post_is_refused_by_the_server_and_nothing_is_kept(
    stack: Stack, senders: Senders, sns_server: LocalServer
) -> None:
    before = stack.scalar("SELECT count(*) FROM inbox_body")
    impostor = Senders(sns_server.base_url)  # keys of its own
    for provider, name in POSTS:
        assert send(stack, impostor.post(provider, name)).status_code == 401
    # a body changed after SendGrid signed it
    signed = senders.post("sendgrid", "delivered_event")
    body = json.loads(signed.body)
    body[0]["email"] = "someone-else@example.com"
    assert (
        send(stack, Post("sendgrid", json.dumps(body).encode(), signed.headers)).status_code == 401
    )
    assert stack.scalar("SELECT count(*) FROM inbox_body") == before
