"""Infobip's other inputs (channels, blocklist events, pulled logs) never crash their readers,
whatever JSON arrives, and what they return is storable."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from emailhook.domain.events import EmailEvent
from emailhook.providers.infobip.blocklist import is_blocklist_body, parse_blocklist
from emailhook.providers.infobip.channels import channel_of, is_email_item
from emailhook.providers.infobip.logs import LogSkip, log_event
from support.fuzzing import json_objects, json_values, keys, mutated_bodies

DATA = Path(__file__).resolve().parents[1] / "data" / "infobip"
BLOCK = json.loads(
    (DATA / "blocklist_event_webhook__block_event_request_source_type_url_optout.json").read_text()
)["results"][0]
LOG = json.loads((DATA / "SYNTH_email_v4_logs_response.json").read_text())["results"][0]


@st.composite
def mutated(draw: st.DrawFn, template: dict[str, Any]) -> dict[str, Any]:
    """``template`` with top-level and ``content`` values replaced, dropped or added."""
    item = json.loads(json.dumps(template))
    for _ in range(draw(st.integers(0, 5))):
        target = item
        if isinstance(item.get("content"), dict) and draw(st.booleans()):
            target = item["content"]
        if target and draw(st.booleans()):
            target.pop(draw(st.sampled_from(sorted(target))))
        else:
            name = draw(st.sampled_from(sorted(target)) | keys) if target else draw(keys)
            target[name] = draw(json_values)
    return item


def storable(value: object) -> None:
    json.dumps(value, allow_nan=False)


@given(mutated_bodies() | json_objects | json_values)
def test_channel_of_never_raises(item: Any) -> None:
    assert isinstance(channel_of(item), str)
    assert is_email_item(item) is (channel_of(item) == "EMAIL")
    if isinstance(item, dict) and isinstance(item.get("results"), list):
        for each in item["results"]:
            assert isinstance(channel_of(each), str)


@given(st.lists(mutated(BLOCK) | json_values, max_size=4) | json_values)
def test_blocklist_bodies_never_raise_and_give_storable_events(results: Any) -> None:
    body = {"results": results}
    batch = parse_blocklist(body)
    assert is_blocklist_body(body) or batch.events == []
    for event in batch.events:
        storable(event.raw)
        assert event.status in ("BLOCK", "UNBLOCK")
        assert event.email
        assert len(event.event_key) <= 128


@given(mutated(LOG) | json_values)
def test_log_items_never_raise_and_give_an_event_or_a_reason(item: Any) -> None:
    result = log_event(item)
    if isinstance(result, LogSkip):
        assert result.reason
        return
    assert isinstance(result, EmailEvent)
    assert result.message_id
    assert result.status in ("DELIVERED", "UNDELIVERABLE", "EXPIRED", "REJECTED")
    assert len(result.event_key) <= 128
    storable(result.raw)
