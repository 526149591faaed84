"""A campaign's message kept once, each recipient's row its own part: read whole, each message
is exactly what ``POST /messages`` would have made of the same request."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from emailhook.domain.sending.campaign_message import message_of, own_part, shared_part, whole
from emailhook.domain.sending.expansion import expand
from emailhook.domain.sending.message import Recipient, SendRequest
from emailhook.domain.sending.validation import parse_send_request

NOW = datetime(2026, 1, 1, tzinfo=UTC)
PROVIDERS = {
    "infobip": frozenset({"metadata", "tags", "headers", "merge_global_data", "template_id"})
}
BODY: dict[str, Any] = {
    "from": "Shop <shop@example.com>",
    "subject": "Hello {{first}} from {{shop}}",
    "text": "Hi {{first}}, {{missing}} stays; {{shop}}",
    "html": "<p>{{first}}</p>",
    "headers": {"X-Campaign": "june"},
    "metadata": {"campaign": "june", "qj_contact_id": 1},
    "merge_global_data": {"shop": "Loja", "first": "friend"},
    "to": [
        {"email": "ann@example.com", "name": "Ann", "merge_data": {"first": "Ann"}},
        {"email": "bo@example.com", "metadata": {"qj_contact_id": 2}},
        {"email": "cy@example.com", "merge_data": {"shop": "Other"}, "metadata": {"x": "y"}},
    ],
}


def _request(body: dict[str, Any]) -> SendRequest:
    return parse_send_request(body, providers=PROVIDERS, default_provider="infobip", now=NOW)


def _shared(request: SendRequest) -> dict[str, Any]:
    """The campaign's message, as its upload keeps it: made for a recipient of no data."""
    probe = replace(request, to=(Recipient("probe@example.com"),))
    return shared_part(expand(probe, rendered=False)[0])


def _kept_and_read(request: SendRequest, headers: Any = None) -> tuple[list[Any], list[Any]]:
    """Expand ``request`` as POST /messages does and as a campaign keeps it, read whole."""
    ids = iter([f"m{n}" for n in range(len(request.to))])
    extra: Any = headers or (lambda _id, _r: {})
    direct = expand(request, extra_headers=extra, new_id=lambda: next(ids))
    shared = _shared(request)
    ids = iter([f"m{n}" for n in range(len(request.to))])
    unrendered = expand(request, extra_headers=extra, new_id=lambda: next(ids), rendered=False)
    read = [message_of(shared, own_part(m, shared)) for m in unrendered]
    return direct, read


def test_each_message_read_whole_is_what_post_messages_would_have_made() -> None:
    direct, read = _kept_and_read(_request(BODY))
    assert read == direct
    assert read[0].subject == "Hello Ann from Loja"
    assert read[1].subject == "Hello friend from Loja"  # the global data
    assert read[2].text == "Hi friend, {{missing}} stays; Other"  # the recipient's first
    assert dict(read[1].metadata) == {"campaign": "june", "qj_contact_id": 2}


def test_a_row_keeps_only_what_differs_from_the_campaigns_message() -> None:
    request = _request(BODY)
    shared = _shared(request)
    assert shared["subject"] == "Hello {{first}} from {{shop}}"  # unrendered, once
    assert not {"to", "public_id"} & set(shared)
    [_, bo, cy] = expand(request, rendered=False)
    own = own_part(bo, shared)
    assert set(own) == {"public_id", "to", "metadata"}  # merge data and headers are shared
    assert set(own_part(cy, shared)) == {"public_id", "to", "metadata", "merge_data"}


def test_per_message_headers_such_as_list_unsubscribe_stay_each_messages_own() -> None:
    def unsubscribe(public_id: str, _request: SendRequest) -> dict[str, str]:
        return {"List-Unsubscribe": f"<https://x.example/u/{public_id}>"}

    direct, read = _kept_and_read(_request(BODY), unsubscribe)
    assert read == direct
    assert read[2].headers["List-Unsubscribe"] == "<https://x.example/u/m2>"
    assert read[2].headers["X-Campaign"] == "june"


def test_a_provider_template_keeps_its_placeholders_for_the_provider() -> None:
    body = {k: v for k, v in BODY.items() if k not in ("subject", "text", "html")}
    direct, read = _kept_and_read(_request({**body, "template_id": "dunning"}))
    assert read == direct
    assert read[0].subject is None
    assert dict(read[0].merge_data) == {"shop": "Loja", "first": "Ann"}


@pytest.mark.parametrize("shared", [None, {}])
def test_a_whole_document_is_read_as_it_is_without_a_campaigns_message(
    shared: dict[str, Any] | None,
) -> None:
    [message] = expand(_request({**BODY, "to": BODY["to"][:1]}))
    document = message.as_json()
    if shared is None:
        assert message_of(None, document) == message
    else:
        assert whole(shared, document)["subject"] == "Hello Ann from Loja"
