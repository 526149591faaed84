"""A request as the server hands it over (ASGI), read as the front and the bridge read it."""

from __future__ import annotations

import asyncio

import pytest

from emailhook.entrypoints.web.exchange import ClientGoneError, Exchange, Head, Message


def test_a_head_reads_names_and_values_as_latin_1_and_keeps_the_query_as_sent() -> None:
    head = Head.of(
        {
            "type": "http",
            "method": "POST",
            "path": "/email/ték",
            "query_string": b"token=a%20b&x=1",
            "headers": [(b"x_webhook_secret", b"caf\xe9"), (b"host", b"example.com")],
            "server": ("10.0.0.1", 8000),
            "client": ("192.0.2.7", 51000),
            "scheme": "http",
            "http_version": "1.1",
        }
    )
    assert head.headers == [("x_webhook_secret", "café"), ("host", "example.com")]
    assert head.query_string == b"token=a%20b&x=1"
    assert (head.server, head.client, head.path) == (("10.0.0.1", 8000), "192.0.2.7", "/email/ték")


def _exchange(messages: list[Message]) -> tuple[Exchange, list[Message]]:
    sent: list[Message] = []

    async def receive() -> Message:
        return messages.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    return Exchange(receive, send), sent


def test_a_body_in_chunks_is_read_whole_or_up_to_a_size() -> None:
    chunks = [b"ab", b"cd", b"ef"]

    def messages() -> list[Message]:
        return [
            {"type": "http.request", "body": chunk, "more_body": n < 2}
            for n, chunk in enumerate(chunks)
        ]

    whole, _ = _exchange(messages())
    assert asyncio.run(whole.body()) == b"abcdef"
    partial, _ = _exchange(messages())
    assert asyncio.run(partial.read_at_most(3)) == b"abc"


def test_a_client_gone_mid_body_is_an_error_not_a_short_body() -> None:
    exchange, _ = _exchange(
        [{"type": "http.request", "body": b"{", "more_body": True}, {"type": "http.disconnect"}]
    )
    with pytest.raises(ClientGoneError):
        asyncio.run(exchange.body())


def test_a_whole_answer_says_its_length_and_a_streamed_one_does_not() -> None:
    exchange, sent = _exchange([])
    asyncio.run(exchange.answer(200, [("content-type", "application/json")], b"{}"))
    assert sent[0]["headers"] == [(b"content-type", b"application/json"), (b"content-length", b"2")]
    assert sent[1] == {"type": "http.response.body", "body": b"{}"}

    async def stream() -> None:
        await exchange.start_stream(200, [("content-type", "text/csv")])
        await exchange.send(b"a\n")
        await exchange.end()

    sent.clear()
    asyncio.run(stream())
    assert sent[0]["headers"] == [(b"content-type", b"text/csv")]
    assert [m.get("more_body", False) for m in sent[1:]] == [True, False]
