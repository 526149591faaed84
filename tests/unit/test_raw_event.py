"""The raw event kept once: the rest and the columns give back exactly the raw item."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from emailhook.domain import raw_event
from emailhook.domain.events import EmailEvent
from emailhook.providers.infobip.parsing import parse_body
from emailhook.providers.registry import parsers
from support.signing import parse_sample, sample_names

Seed = Callable[[str], dict[str, Any]]
SEEDS = [
    "clicked", "complained", "delivered", "delivered_dict", "opened", "suppressed_bounce",
    "undeliverable", "unsubscribed",
]  # fmt: skip


def columns(event: EmailEvent) -> dict[str, Any]:
    return {f.name: getattr(event, f.name) for f in dataclasses.fields(event)}


def round_trip(event: EmailEvent) -> tuple[dict[str, Any], dict[str, Any]]:
    rest = raw_event.rest(event.raw, event.provider, event.kind.value, columns(event))
    return rest, raw_event.restore(rest, event.provider, event.kind.value, columns(event))


def canonical(value: object) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


@pytest.mark.parametrize("name", SEEDS)
def test_every_seed_event_is_given_back_exactly_from_a_rest_of_its_raw_item(
    load_seed: Seed, name: str
) -> None:
    for event in parse_body(load_seed(name)).events:
        rest, restored = round_trip(event)
        assert canonical(restored) == canonical(event.raw)
        assert raw_event.WHOLE not in rest
        assert len(canonical(rest)) < len(canonical(event.raw)) * 0.75


def test_callback_data_text_in_any_seen_encoding_is_not_kept_twice(load_seed: Seed) -> None:
    for name in ("delivered", "delivered_dict", "suppressed_bounce"):
        for event in parse_body(load_seed(name)).events:
            rest, _ = round_trip(event)
            assert "callbackData" not in rest, name


def test_a_field_a_column_holds_changed_is_kept_as_sent(load_seed: Seed) -> None:
    item = load_seed("delivered")["results"][0]
    item = {**item, "to": "Joao.Madero@Quite.com.br", "messageId": 12345}
    (event,) = parse_body(item).events
    rest, restored = round_trip(event)
    assert (rest["to"], rest["messageId"]) == ("Joao.Madero@Quite.com.br", 12345)
    assert canonical(restored) == canonical(item)


def test_a_raw_item_the_columns_would_not_give_back_is_kept_whole() -> None:
    # No groupName: the column is filled from groupId, which restore would add to the item.
    item = {"messageId": "m1", "to": "a@b.c", "status": {"groupId": 3}, "~whole": 1}
    (event,) = parse_body(item).events
    rest, restored = round_trip(event)
    assert rest == {raw_event.WHOLE: item}
    assert restored == item


def test_an_item_without_a_status_name_is_given_back_without_one() -> None:
    item = {"messageId": "m1", "to": "a@b.c", "status": {"groupId": 3}}
    (event,) = parse_body(item).events
    assert event.status == "DELIVERED"
    _, restored = round_trip(event)
    assert restored == item


def test_every_providers_raw_item_is_kept_whole_and_given_back_as_sent() -> None:
    # Only Infobip's raw items are cut to a rest; the others' are their own shapes.
    count = 0
    for name, provider in parsers().items():
        if name == "infobip":
            continue
        for sample in sample_names(name):
            try:
                events = parse_sample(provider, sample).events
            except Exception:  # a sample that is not an event body (a confirmation)
                continue
            for event in events:
                rest, restored = round_trip(event)
                assert rest == event.raw
                assert canonical(restored) == canonical(event.raw)
                count += 1
    assert count > 50


def test_an_infobip_item_holding_the_rests_own_marks_round_trips() -> None:
    item = {
        "messageId": "m1",
        "to": "a@b.c",
        "status": {"groupName": "DELIVERED"},
        raw_event.CALLBACK_FORM: "r",
        "callbackData": '{"qj_contact_id": 1}',
    }
    (event,) = parse_body(item).events
    rest, restored = round_trip(event)
    assert rest == {raw_event.WHOLE: item}  # its own "~cd" would be lost: kept whole
    assert canonical(restored) == canonical(item)
