"""Failover's ledger: with ``EMAILHOOK_SEND_PROVIDERS=infobip,postmark``, Infobip answering too
late and then refusing connections mid-load, every message answered ``queued`` is sent exactly
once, by exactly one provider: the fake Infobip's ledger (our id in callbackData) and the fake
Postmark's (our id in Metadata) are disjoint and together hold every message once; a message
Infobip may have taken (an answer too late) stays with Infobip, settled by its logs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support.fake_senders import FakeInfobipSender, FakePostmark
from support.fake_senders.infobip import MESSAGES
from support.ledger import PUBLISHED
from support.send_ledger import (
    INFOBIP_KEY,
    OUR_ID,
    SendBackground,
    outbox_states,
    send_env,
    wait_settled,
)
from support.services import backend_urls
from support.stack import StackFactory, wait_until

pytestmark = pytest.mark.faults

POSTMARK_TOKEN = "postmark-faults-token"


def _batch(recipients: int, run: str, also: tuple[str, ...]) -> dict[str, Any]:
    # metadata names Postmark can carry (at most 20 characters): the route includes it
    return {
        "from": "cobranca@example.com",
        "subject": "Fatura",
        "text": "Ola",
        "category": "transactional",
        "metadata": {"campaign": f"failover-{run}"},
        "to": [
            {"email": f"r{n}-{run}@example.com", "metadata": {"qj_contact_id": n + 1}}
            for n in range(recipients)
        ],
    }


@pytest.fixture
def fakes() -> Iterator[tuple[FakeInfobipSender, FakePostmark]]:
    with FakeInfobipSender(api_key=INFOBIP_KEY) as infobip, FakePostmark(POSTMARK_TOKEN) as pm:
        yield infobip, pm


@pytest.mark.parametrize("backend", ["sqlite+folder", "postgres+redis"])
def test_a_provider_failing_mid_load_fails_over_and_each_message_is_sent_once_by_one(
    make_stack: StackFactory,
    tmp_path: Path,
    fakes: tuple[FakeInfobipSender, FakePostmark],
    backend: str,
) -> None:
    infobip, postmark = fakes
    env = send_env(
        infobip,
        EMAILHOOK_SEND_PROVIDERS="infobip,postmark",
        EMAILHOOK_POSTMARK_SERVER_TOKEN=POSTMARK_TOKEN,
        EMAILHOOK_POSTMARK_API_URL=postmark.url,
        EMAILHOOK_SEND_CIRCUIT_FAILURES="2",
        EMAILHOOK_SEND_CIRCUIT_SECONDS="600",
    )
    # Once on PostgreSQL only: on SQLite, in a full parallel run, the web could not commit
    # for a minute (1 request of 8 answered), which the writers' flock fix (one open file a
    # process, released as taken) is believed to have cured; a failing fault test prints its
    # stacks' flock holders and threads (conftest.make_stack)
    with backend_urls(backend, tmp_path) as (database_url, broker_url):
        stack = make_stack(database_url, broker_url, **env).start()
        with SendBackground(stack.base_url, 40, 5, duration=8, concurrency=4, make=_batch) as load:
            load.wait_accepted(8)
            infobip.answer_late(3, times=2, path=MESSAGES)  # accepted, answered past the bound
            wait_until(lambda: infobip.faults_pending == 0, 60, "two late answers")
            infobip.refuse_connections()  # then down: its circuit opens
            load.wait_accepted(40)
        wait_until(lambda: len(postmark.ledger) > 0, 60, "messages failed over to Postmark")
        infobip.accept_connections()  # back: its logs settle what it may have taken
        wait_settled(stack, load.ledger.queued, timeout=120)

        assert load.ledger.statuses == {202: 40}, load.ledger.summary()
        by_infobip = set(infobip.ledger.count(OUR_ID))
        by_postmark = set(postmark.ledger.count(OUR_ID))
        infobip.ledger.assert_once(OUR_ID)
        postmark.ledger.assert_once(OUR_ID)
        assert not by_infobip & by_postmark, sorted(by_infobip & by_postmark)[:5]
        assert by_infobip | by_postmark == load.ledger.queued
        assert by_postmark, "nothing failed over"
        states = outbox_states(stack)
        assert set(states.values()) == {"sent"}
        providers = {
            r["public_id"]: r["provider"]
            for r in stack.rows("SELECT public_id, provider FROM outbox")
        }
        assert {i for i, p in providers.items() if p == "postmark"} == by_postmark
        assert {i for i, p in providers.items() if p == "infobip"} == by_infobip
        PUBLISHED.append(
            f"send-failover [{stack.label}]: {load.ledger.summary()}"
            f" infobip={len(by_infobip)} postmark={len(by_postmark)}"
        )
