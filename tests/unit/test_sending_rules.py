"""The send pipeline's pure rules: validation, placeholders, scope, retries, bucket, tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from emailhook.domain.sending.expansion import expand
from emailhook.domain.sending.message import Category, OutgoingMessage
from emailhook.domain.sending.placeholders import render
from emailhook.domain.sending.retries import RetryPolicy, Verdict, parse_retry_after
from emailhook.domain.sending.scope import blocking_reason, blocks
from emailhook.domain.sending.token_bucket import BucketState, slowed, take
from emailhook.domain.sending.unsubscribe_tokens import sign, verify
from emailhook.domain.sending.validation import InvalidSendRequestError, parse_send_request
from emailhook.domain.suppression import SuppressionReason

NOW = datetime(2026, 1, 1, tzinfo=UTC)
PROVIDERS = {"infobip": frozenset({"metadata", "tags", "headers"}), "bare": frozenset()}
GOOD = {
    "from": "Shop <shop@example.com>",
    "subject": "Hello {{first}}",
    "text": "Hi {{first}}, {{missing}} stays",
    "to": [{"email": "Ann@Example.com", "merge_data": {"first": "Ann"}, "metadata": {"a": 2}}],
    "metadata": {"a": 1, "qj_contact_id": 7},
}


def parse(body: object, default: str | None = "infobip"):  # type: ignore[no-untyped-def]
    return parse_send_request(body, providers=PROVIDERS, default_provider=default, now=NOW)


def errors_of(body: object, default: str | None = "infobip") -> dict[str, list[str]]:
    with pytest.raises(InvalidSendRequestError) as caught:
        parse(body, default)
    return caught.value.errors


def test_a_good_request_expands_to_one_message_per_recipient() -> None:
    request = parse(GOOD)
    assert request.provider == "infobip"
    assert request.category is Category.MARKETING
    [message] = expand(request, new_id=lambda: "msg_1", extra_headers=lambda i, _: {"X-Id": i})
    assert message.to.email == "ann@example.com"
    assert message.subject == "Hello Ann"
    assert message.text == "Hi Ann, {{missing}} stays"
    assert message.metadata == {"a": 2, "qj_contact_id": 7}
    assert message.headers == {"X-Id": "msg_1"}
    assert OutgoingMessage.from_json(message.as_json()) == message


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"from": None}, "from"),
        ({"from": "not an address"}, "from"),
        ({"text": None}, "text"),
        ({"subject": None}, "subject"),
        ({"to": []}, "to"),
        ({"to": [{"email": "nope"}]}, "to[0].email"),
        ({"to": [{"email": f"a{n}@example.com"} for n in range(1001)]}, "to"),
        ({"provider": "nobody"}, "provider"),
        ({"provider": "bare", "tags": ["x"]}, "tags"),
        ({"headers": {"List-Unsubscribe": "<x>"}}, "headers.List-Unsubscribe"),
        ({"metadata": {"qj_contact_id": "abc"}}, "metadata.qj_contact_id"),
        ({"send_at": "tomorrow"}, "send_at"),
        ({"category": "spam"}, "category"),
        ({"surprise": 1}, "surprise"),
        ({"attachments": [{"filename": "a.txt", "content": "***"}]}, "attachments[0].content"),
    ],
)
def test_each_bad_field_is_named(change: dict[str, object], field: str) -> None:
    body = {**GOOD, **change}
    body = {k: v for k, v in body.items() if v is not None}
    assert field in errors_of(body)


def test_no_provider_configured_names_the_setting() -> None:
    assert "EMAILHOOK_SEND_PROVIDER" in errors_of(GOOD, default=None)["provider"][0]


def test_send_at_in_the_future_schedules_and_in_the_past_sends_now() -> None:
    later = (NOW + timedelta(hours=1)).isoformat()
    assert parse({**GOOD, "send_at": later}).send_at == NOW + timedelta(hours=1)
    assert parse({**GOOD, "send_at": "2020-01-01T00:00:00Z"}).send_at is None


def test_placeholders_take_the_recipient_first_then_global() -> None:
    assert render("{{a}}-{{ b }}-{{c}}", {"a": "1"}, {"a": "x", "b": "2"}) == "1-2-{{c}}"
    assert render(None, {}) is None


def test_an_unsubscribe_blocks_marketing_only_other_reasons_block_all() -> None:
    assert blocks(SuppressionReason.UNSUBSCRIBE, Category.MARKETING)
    assert not blocks(SuppressionReason.UNSUBSCRIBE, Category.TRANSACTIONAL)
    for reason in SuppressionReason:
        if reason is not SuppressionReason.UNSUBSCRIBE:
            assert blocks(reason, Category.TRANSACTIONAL)
    reasons = ["unsubscribe", "hard_bounce"]
    assert blocking_reason(reasons, Category.TRANSACTIONAL) is SuppressionReason.HARD_BOUNCE


def test_retries_back_off_honour_retry_after_and_dead_letter() -> None:
    policy = RetryPolicy(max_attempts=3, backoff_seconds=2, backoff_max_seconds=60)
    assert [policy.delay(n) for n in (1, 2, 3)] == [2, 4, 8]
    assert policy.delay(1, retry_after=30) == 30
    assert policy.delay(1, retry_after=999) == 60
    assert policy.after_failure(NOW, 1) == (Verdict.RETRY, NOW + timedelta(seconds=2))
    assert policy.after_failure(NOW, 3)[0] is Verdict.DEAD
    assert parse_retry_after("7", NOW) == 7
    assert parse_retry_after("Thu, 01 Jan 2026 00:00:10 GMT", NOW) == 10
    assert parse_retry_after("soon", NOW) is None


def test_the_bucket_grants_its_burst_then_paces_at_its_rate() -> None:
    state = None
    granted = 0
    for _ in range(5):
        result = take(state, NOW, rate=2, burst=3)
        state, granted = result.state, granted + result.granted
    assert granted == 3
    assert state is not None
    refused = take(state, NOW, rate=2, burst=3)
    assert not refused.granted
    assert refused.wait_seconds == pytest.approx(0.5)
    assert take(state, NOW + timedelta(seconds=0.5), rate=2, burst=3).granted
    paused = slowed(BucketState(3, NOW), NOW, 10)
    assert not take(paused, NOW + timedelta(seconds=5), rate=2, burst=3).granted


def test_unsubscribe_tokens_name_the_message_and_refuse_forgeries() -> None:
    token = sign("msg_abc", ["new", "old"])
    assert verify(token, ["new"]) == "msg_abc"
    assert verify(sign("msg_abc", ["old"]), ["new", "old"]) == "msg_abc"
    assert verify(token, ["other"]) is None
    assert verify("msg_xyz" + token[len("msg_abc") :], ["new"]) is None
    assert verify("garbage", ["new"]) is None
