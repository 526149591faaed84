"""Every normalized field of every seed body (``/work/shared/payloads/seed``), asserted."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any

import pytest

from emailhook.domain.events import EmailEvent, EventKind, Shape
from emailhook.domain.vocabulary import BounceClass, EventType, RejectReason
from emailhook.providers.infobip.parsing import count_events, detect_shape, parse_body

Seed = Callable[[str], dict[str, Any]]

#: The keys the seed's events get today. They are stored under a unique constraint: if the
#: derivation changed, a redelivery straddling a deploy would be stored twice.
PINNED_KEYS = {
    "clicked": ["tr:574f9d31b524ebaf186b6b138c256334c1b672fc"],
    "complained": ["tr:83c6a3fd17bdb34b6ac498e03ada04960e0e8657"],
    "delivered": ["dr:4eb7422af77f52905f68206ccaf9409c742e8e5b"],
    "delivered_dict": [
        "dr:1f8661788f87aaa060a10d155b52aa5f81bb9e47",
        "dr:9805c5c075fd9cc5cd15733838994503183c03ce",
        "dr:81a21bf470b69512d78860da6d5454f214c44577",
        "dr:f3574a18a7335bf6ba7634b04e9f9d016c782f13",
        "dr:76578a80f311622ff8714ffb52b8c7d152ae330e",
    ],
    "opened": ["tr:399024726f6715185d89d9eb02fd4e61094c4833"],
    "suppressed_bounce": ["dr:c4d58c46a7bdca9aeef0c359351e2354e3318993"],
    "undeliverable": ["dr:96617915a5c5f8abeb829c8aa13b41c4d787c808"],
    "unsubscribed": ["tr:0b121d4eb6b7bfaa9f1c521369aa4f158771cabe"],
}

SHAPES = {
    "clicked": Shape.TRACKING_EVENT,
    "complained": Shape.TRACKING_EVENT,
    "delivered": Shape.DELIVERY_REPORTS,
    "delivered_dict": Shape.DELIVERY_REPORTS,
    "opened": Shape.TRACKING_EVENT,
    "suppressed_bounce": Shape.BARE_REPORT,
    "undeliverable": Shape.DELIVERY_REPORTS,
    "unsubscribed": Shape.TRACKING_EVENT,
}


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, us, tzinfo=UTC)


#: the key is asserted apart (pinned above)
KEY_ONLY = {"event_key"}


def fields_of(event: EmailEvent) -> dict[str, Any]:
    """Return every field of ``event`` but its key (asserted apart: it is a digest)."""
    return {f.name: getattr(event, f.name) for f in fields(EmailEvent) if f.name not in KEY_ONLY}


def expected(**given: Any) -> dict[str, Any]:
    """Return all fields of an EmailEvent but its key: ``given`` ones, None for the rest."""
    names = [f.name for f in fields(EmailEvent) if f.name not in KEY_ONLY]
    unknown = set(given) - set(names)
    assert not unknown, f"not fields of EmailEvent: {unknown}"
    assert "event_type" in given, "every seed event's event_type is asserted"
    values = {name: given.get(name) for name in names}
    return values | {"provider": given.get("provider", "infobip")}


def tracking(body: dict[str, Any], **given: Any) -> dict[str, Any]:
    return expected(
        kind=EventKind.TRACKING,
        provider_event_id=None,  # the seed's tracking events predate eventId
        event_at=None,  # a tracking event carries no time of its own
        callback_data={"qj_contact_id": 3},
        callback_data_raw='{"qj_contact_id": 3}',
        qj_contact_id=3,
        raw=body,
        **given,
    )


DELIVERED_OK = {
    "status": "DELIVERED",
    "status_id": 5,
    "status_group_id": 3,
    "status_name": "DELIVERED_TO_HANDSET",
    "status_description": "Message delivered to handset",
    "error_id": 0,
    "error_name": "NO_ERROR",
    "error_description": "No Error",
    "error_permanent": False,
    "event_type": EventType.DELIVERED,
}


# --- the seed as a whole ------------------------------------------------------------------


def test_the_seed_has_the_eight_documented_bodies(seed_names: list[str]) -> None:
    assert seed_names == sorted(SHAPES)


def test_seed_bodies_have_their_documented_shapes(seed: Seed) -> None:
    for name, shape in SHAPES.items():
        body = seed(name)
        assert detect_shape(body) is shape, name
        assert parse_body(body).shape is shape, name


def test_the_seed_gives_twelve_events_with_twelve_distinct_keys(seed: Seed) -> None:
    keys = [event.event_key for name in SHAPES for event in parse_body(seed(name)).events]
    assert len(keys) == 12
    assert len(set(keys)) == 12


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_count_events_agrees_with_parse_body_for_every_seed(seed: Seed, name: str) -> None:
    body = seed(name)
    parsed = parse_body(body)
    assert count_events(body, detect_shape(body)) == len(parsed.events)
    assert parsed.rejected == []
    assert parsed.platform_events == []


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_seed_event_keys_are_stable_and_pinned(seed: Seed, name: str) -> None:
    first = [event.event_key for event in parse_body(seed(name)).events]
    again = [event.event_key for event in parse_body(seed(name)).events]
    assert first == again == PINNED_KEYS[name]


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_seed_event_keys_have_the_prefix_of_their_kind(seed: Seed, name: str) -> None:
    for event in parse_body(seed(name)).events:
        prefix = "dr:" if event.kind is EventKind.DELIVERY_REPORT else "tr:"
        assert event.event_key.startswith(prefix)
        assert len(event.event_key) == len(prefix) + 40  # blake2b, 20 bytes, in hex


# --- delivery reports ---------------------------------------------------------------------


def test_delivered_report_is_normalized_field_by_field(seed: Seed) -> None:
    body = seed("delivered")
    assert len(body["results"]) == 1
    (event,) = parse_body(body).events

    assert fields_of(event) == expected(
        kind=EventKind.DELIVERY_REPORT,
        email="joao.madero@quite.com.br",
        message_id="yfkgy9xol5kpl33u384n",
        bulk_id="7dy3rajfsn3en76hsztl",
        provider_event_id=None,
        qj_contact_id=3,
        # doneAt 2024-07-16T17:26:54.966-0300, sentAt 2024-07-16T17:26:52.880-0300
        event_at=utc(2024, 7, 16, 20, 26, 54, 966000),
        sent_at=utc(2024, 7, 16, 20, 26, 52, 880000),
        callback_data={"qj_contact_id": 3},
        callback_data_raw='{"qj_contact_id": 3}',
        raw=body["results"][0],
        **DELIVERED_OK,
    )


def test_undeliverable_report_carries_its_permanent_error(seed: Seed) -> None:
    body = seed("undeliverable")
    assert len(body["results"]) == 1
    (event,) = parse_body(body).events

    assert fields_of(event) == expected(
        kind=EventKind.DELIVERY_REPORT,
        status="UNDELIVERABLE",
        event_type=EventType.BOUNCED,  # a permanent error: a hard bounce
        bounce_class=BounceClass.HARD,
        email="joao.madero@quite.com.br",
        message_id="vzl7uvqhq7lt1fa66718",
        bulk_id="u38ifa6y5hsjyacodpyn",
        provider_event_id=None,
        qj_contact_id=3,
        event_at=utc(2024, 7, 16, 20, 15, 21, 288000),
        sent_at=utc(2024, 7, 16, 20, 15, 21, 286000),
        status_id=4,
        status_group_id=2,
        status_name="UNDELIVERABLE_REJECTED_OPERATOR",
        status_description="Message rejected by operator",
        error_id=6012,
        error_name="EC_SENDER_ADDRESS_INVALID",
        error_description="Sending address invalid, possible syntax error",
        error_permanent=True,
        callback_data={"qj_contact_id": 3},
        callback_data_raw='{"qj_contact_id": 3}',
        raw=body["results"][0],
    )


#: delivered_dict.json, per item: bulkId, messageId, to, doneAt and sentAt (ms, UTC),
#: then qj_contact_id, qj_customer_id, qj_snapshot, the subject's first name, qj_deal_id.
DELIVERED_DICT_ITEMS = [
    ("fsfrqsxr66vigdfltnpz", "jymy9kls8qx59blkizg4", "xbbvalle@mail.com", 621, 627,
     "124127953", "39100489", "11038928605", "Alexandre", "173084073"),
    ("u13d2uoz3z4j43kbdyfu", "e8d7z6zlm8o88t7k58qi", "thiagocsfoz@mail.com", 547, 902,
     "111372120", "33463879", "5901886909", "Thiago", "193175357"),
    ("p7tfqzt6kiaj2sabheaj", "1ruocbp8ccqv1sx2k7uy", "lgg.noia@mail.com", 564, 903,
     "208821129", "45895586", "2079960083", "Luis", "122268724"),
    ("k1msf8rhepnazoi52c7c", "rap1yuru9sy6rktvgq77", "thiagogiatti0@mail.com", 575, 870,
     "277652016", "41771150", "46348910857", "Thiago", "181035514"),
    ("mprhxcn1g79hhi4hyops", "hikah5b6b3hfqocz5bux", "luisgomes@mail.com", 582, 891,
     "261041888", "41263238", "38043996814", "Kevim", "197563808"),
]  # fmt: skip


def test_python_repr_callback_data_of_delivered_dict_is_decoded_item_by_item(seed: Seed) -> None:
    body = seed("delivered_dict")
    parsed = parse_body(body)
    assert len(body["results"]) == 5
    assert len(parsed.events) == 5

    for index, (event, row) in enumerate(zip(parsed.events, DELIVERED_DICT_ITEMS, strict=True)):
        bulk, message, to, done_ms, sent_ms, contact, customer, snapshot, first, deal = row
        item = body["results"][index]
        assert fields_of(event) == expected(
            kind=EventKind.DELIVERY_REPORT,
            email=to,
            message_id=message,
            bulk_id=bulk,
            provider_event_id=None,
            qj_contact_id=int(contact),  # a numeric string in the Python repr
            # doneAt 2024-08-07T08:43:07.xxx-0300, sentAt 2024-08-07T08:43:05.xxx-0300
            event_at=utc(2024, 8, 7, 11, 43, 7, done_ms * 1000),
            sent_at=utc(2024, 8, 7, 11, 43, 5, sent_ms * 1000),
            campaign="aquecimento",
            creditor_id="13",
            creditor_name="Geru",
            callback_data={
                "qj_approach_flow_id": "1783",
                "qj_approach_flow_name": "[aquecimento]",
                "qj_approach_flow_campaign": "aquecimento",
                "qj_contact_id": contact,
                "qj_creditor_id": "13",
                "qj_creditor_name": "Geru",
                "qj_customer_id": customer,
                "qj_stimulus_hot": "1",
                "qj_approach_offset": "1",
                "qj_snapshot": snapshot,
                # the repr holds \u escapes, which the literal decodes
                "qj_subject": (
                    f"{first}, agora você pode contar com a QuiteJá para dar adeus a "
                    "pendência Geru!"
                ),
                "qj_deal_id": deal,
                "qj_stimulus_history_id": "1546277",
                "qj_firing_id": 489166,  # an int in the repr stays an int
            },
            callback_data_raw=item["callbackData"],
            raw=item,
            **DELIVERED_OK,
        ), f"item {index}"
        assert "\\u00ea" in (event.callback_data_raw or "")  # the raw text is kept as sent


def test_bare_suppressed_bounce_report_is_normalized_field_by_field(seed: Seed) -> None:
    body = seed("suppressed_bounce")
    assert "results" not in body
    (event,) = parse_body(body).events

    assert fields_of(event) == expected(
        kind=EventKind.DELIVERY_REPORT,
        status="UNDELIVERABLE",
        # 6034: Infobip refuses because the address bounced before: a rejection, no new bounce
        event_type=EventType.REJECTED,
        reject_reason=RejectReason.BOUNCED,
        email="paulorobetovlopes@hotmail.com",
        message_id="1955tld5lqf3mn9ou3tz",
        bulk_id="svulxb6rjqajapkmvyvy",
        provider_event_id=None,
        qj_contact_id=310372388,
        event_at=utc(2024, 9, 3, 18, 10, 44, 395000),
        sent_at=utc(2024, 9, 3, 18, 10, 44, 294000),
        status_id=4,
        status_group_id=2,
        status_name="UNDELIVERABLE_REJECTED_OPERATOR",
        status_description="Message rejected by operator",
        error_id=6034,
        error_name="EC_SUPPRESSED_BOUNCE",
        error_description="Recipient address suppressed due to bounce",
        error_permanent=True,
        campaign="Setembro/2024_sem_interações",
        creditor_id="2",
        creditor_name="Quite",
        callback_data={
            "qj_approach_flow_id": "35",
            "qj_approach_flow_name": "[EMAIL] L - Fluxo Sem Interações",
            "qj_approach_flow_campaign": "Setembro/2024_sem_interações",
            "qj_contact_id": "310372388",
            "qj_creditor_id": "2",
            "qj_creditor_name": "Quite",
            "qj_customer_id": "43816741",
            "qj_stimulus_hot": "1",
            "qj_approach_offset": "1",
            "qj_snapshot": "6892059880",
            # a surrogate pair escaped in the JSON string: one character, not two halves
            "qj_subject": "Paulo, você foi contemplado com uma condição especial Geru! 🎁",
            "qj_deal_id": "88921261",
            "qj_stimulus_history_id": "408",
            "qj_firing_id": 485456,
        },
        callback_data_raw=body["callbackData"],
        raw=body,
    )
    assert event.callback_data is not None
    assert event.callback_data["qj_subject"].endswith("\U0001f381")


# --- tracking events ----------------------------------------------------------------------


def test_opened_event_is_normalized_field_by_field(seed: Seed) -> None:
    body = seed("opened")
    (event,) = parse_body(body).events

    assert fields_of(event) == tracking(
        body,
        status="OPENED",
        event_type=EventType.OPENED,
        email="joao.madero@quite.com.br",
        message_id="3nghqee2ktl9c6ta3z56",
        bulk_id="o22v6rmvov7bdigol2n4",
        sent_at=utc(2024, 7, 16, 20, 24, 4, 325000),  # sendDateTime 1721161444325
    )


def test_clicked_event_keeps_its_url(seed: Seed) -> None:
    body = seed("clicked")
    (event,) = parse_body(body).events

    assert fields_of(event) == tracking(
        body,
        status="CLICKED",
        event_type=EventType.CLICKED,
        email="joao.madero@quite.com.br",
        message_id="yfkgy9xol5kpl33u384n",
        bulk_id="7dy3rajfsn3en76hsztl",
        sent_at=utc(2024, 7, 16, 20, 27, 20, 510000),  # sendDateTime 1721161640510
        url="www.google.com?utm_medium=email",
    )


def test_complained_event_is_normalized_field_by_field(seed: Seed) -> None:
    body = seed("complained")
    (event,) = parse_body(body).events

    assert fields_of(event) == tracking(
        body,
        status="COMPLAINED",
        event_type=EventType.COMPLAINED,
        email="john.doe@some-domain.com",
        message_id="14b734recsf69n8zkao5",
        bulk_id="ikzzmbhu6223bxkhmyrj",
        sent_at=utc(2024, 1, 1, 11, 0, 0),  # sendDateTime 1704106800000
    )


def test_unsubscribed_event_is_normalized_field_by_field(seed: Seed) -> None:
    body = seed("unsubscribed")
    (event,) = parse_body(body).events

    assert fields_of(event) == tracking(
        body,
        status="UNSUBSCRIBED",
        event_type=EventType.UNSUBSCRIBED,
        email="john.doe@some-domain.com",
        message_id="14b734recsf69n8zkao5",
        bulk_id="ikzzmbhu6223bxkhmyrj",
        sent_at=utc(2024, 1, 1, 11, 0, 0),
    )


def test_complaint_and_unsubscribe_of_one_message_get_different_keys(seed: Seed) -> None:
    (complained,) = parse_body(seed("complained")).events
    (unsubscribed,) = parse_body(seed("unsubscribed")).events
    assert complained.message_id == unsubscribed.message_id
    assert complained.event_key != unsubscribed.event_key


def test_delivery_report_and_click_of_one_message_get_different_keys(seed: Seed) -> None:
    (delivered,) = parse_body(seed("delivered")).events
    (clicked,) = parse_body(seed("clicked")).events
    assert delivered.message_id == clicked.message_id
    assert delivered.event_key != clicked.event_key


def test_recipient_addresses_are_lowercased(seed: Seed) -> None:
    report = seed("suppressed_bounce")
    report["to"] = "  PauloRobetoVLopes@Hotmail.COM "
    opened = seed("opened")
    opened["recipient"] = "Joao.Madero@QUITE.com.br"

    assert parse_body(report).events[0].email == "paulorobetovlopes@hotmail.com"
    assert parse_body(opened).events[0].email == "joao.madero@quite.com.br"
