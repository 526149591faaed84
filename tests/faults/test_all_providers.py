"""All thirteen providers posting at once to one real stack (granian + Celery worker): every
event answered 200 is stored exactly once, nothing else is, while the web answers fast.

Each provider's real samples are signed by the test (keys it makes) and posted from eight
connections in a shuffled mix with Infobip's bodies; the ledger counts events by their event
key, computed from the exact bytes posted by the provider's own parsing."""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, text

from emailhook.adapters.store.event_keys import key_text
from emailhook.providers.base import StoredRequest
from emailhook.providers.registry import parsers
from support.ledger import Body, Ledger, assert_exactly_once, make_bodies, publish
from support.provider_posts import PROVIDER_NAMES, Post, Senders
from support.services import backend_urls
from support.signing import LocalServer, local_server, sample_names
from support.stack import StackFactory

pytestmark = pytest.mark.faults

#: samples that are not event webhooks (Mailgun's inbound-route sample is refused: 400)
NOT_WEBHOOKS = {("mailgun", "legacy_misconfigured_inbound")}
CONCURRENCY = 8


@pytest.fixture(scope="module")
def sns_server() -> Iterator[LocalServer]:
    with local_server() as server:
        yield server


def keys_of(post: Post) -> tuple[str, ...]:
    """The event keys a post carries, as the worker will read and store them from the inbox
    (events whose recipient is not an e-mail address are set aside: issue 28)."""
    provider = PARSERS[post.provider]
    kept = {k: v for k, v in post.headers.items() if k in provider.kept_headers}
    stored = StoredRequest(post.body, post.headers.get("content-type", ""), kept)
    return tuple(event.event_key for event in provider.parse_checked(stored).events)


PARSERS = parsers()


def stored_keys(engine: Engine) -> Counter[str]:
    """The stored keys as the parsers write them (``event_keys.key_text``)."""
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT event_key, provider_event_id FROM email_callback"))
        return Counter(key_text(bytes(key), event_id) for key, event_id in rows)


def infobip_keys(bodies: list[Body]) -> list[tuple[Post, tuple[str, ...]]]:
    posts = [Post("infobip", body.raw, {"content-type": "application/json"}) for body in bodies]
    return [(post, keys_of(post)) for post in posts]


@pytest.mark.parametrize("backend", ["sqlite+folder", "postgres+redis"])
def test_thirteen_providers_posting_at_once_are_stored_exactly_once(
    make_stack: StackFactory, sns_server: LocalServer, tmp_path: Path, backend: str
) -> None:
    senders = Senders(sns_server.base_url)
    sns_server.routes.update(senders.routes())
    with backend_urls(backend, tmp_path) as (database_url, broker_url):
        stack = make_stack(database_url, broker_url, **senders.env()).start()
        posts = [
            senders.post(provider, name)
            for provider in PROVIDER_NAMES
            for name in sample_names(provider)
            if (provider, name) not in NOT_WEBHOOKS
        ]
        work = [(post, keys_of(post)) for post in posts] + infobip_keys(make_bodies(150))
        random.Random(15).shuffle(work)
        ledger = _post_concurrently(stack.base_url, work)
        stack.wait_until_drained(timeout=120)
        stored = stored_keys(stack.engine)
        publish("thirteen providers at once", ledger, sum(stored.values()), backend)
        assert ledger.statuses == {200: len(work)}, ledger.summary()
        assert_exactly_once(ledger, stored)
        assert len(stored) > 250
        with stack.engine.connect() as conn:
            providers = set(conn.execute(text("SELECT DISTINCT provider FROM email_callback")))
        assert {row[0] for row in providers} == {"infobip", *PROVIDER_NAMES}


def _post_concurrently(base_url: str, work: list[tuple[Post, tuple[str, ...]]]) -> Ledger:
    ledger = Ledger()
    clients = [httpx.Client(timeout=10) for _ in range(CONCURRENCY)]

    def send(index: int) -> None:
        post, keys = work[index]
        client = clients[index % CONCURRENCY]
        path = "/email" if post.provider == "infobip" else post.path
        began = time.monotonic()
        try:
            status: int | None = client.post(
                base_url + path, content=post.body, headers=post.headers
            ).status_code
            error = ""
        except httpx.HTTPError as exc:
            status, error = None, type(exc).__name__
        ledger.record(Body(keys, b""), status, time.monotonic() - began, error)

    try:
        # one connection per worker thread: each index's client is used by one thread at once
        with ThreadPoolExecutor(CONCURRENCY) as pool:
            for start in range(0, len(work), CONCURRENCY):
                list(pool.map(send, range(start, min(start + CONCURRENCY, len(work)))))
    finally:
        for client in clients:
            client.close()
    return ledger
