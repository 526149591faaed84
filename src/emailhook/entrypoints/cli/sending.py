"""Commands of the send side: ``emailhook send`` (a quick send from a terminal, through the
same service as ``POST /messages``) and ``emailhook outbox`` (its counts, list and messages)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from email.utils import parseaddr
from typing import Any

import click
import orjson

from emailhook.adapters.reads.sent_messages import MessageFilter
from emailhook.domain.printable import escaped
from emailhook.domain.sending.message import Category, SendState
from emailhook.entrypoints.cli.context import send_services
from emailhook.entrypoints.cli.errors import reported

_STATES = [state.value for state in SendState]
#: the fields ``outbox show`` prints first, one a line
_SHOWN = (
    *("id", "batch_id", "to", "status", "reason", "provider", "provider_message_id"),
    *("category", "qj_contact_id", "subject", "created_at", "send_at", "sent_at"),
)


def key_values(_: click.Context, __: click.Parameter, pairs: Sequence[str]) -> dict[str, str]:
    """Return ``--metadata key=value`` options as a dict."""
    found: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not key=value")
        found[key] = value
    return found


def _recipient(text: str) -> str | dict[str, str]:
    """``Name <a@x>`` as the API's ``{"email", "name"}``; anything else as written."""
    name, address = parseaddr(text)
    return {"email": address, "name": name} if name and address else text


@click.command()
@click.option("--from", "from_", required=True, help="The sender: an address or 'Name <a@x>'.")
@click.option("--to", "to", multiple=True, required=True, help="A recipient, a@x or 'Name <a@x>'.")
@click.option("--subject", help="The subject.")
@click.option("--text", help="The plain-text body.")
@click.option("--html", help="The HTML body.")
@click.option("--reply-to", "reply_to", multiple=True, help="A Reply-To address.")
@click.option(
    "--metadata",
    multiple=True,
    callback=key_values,
    help="key=value kept with each message and echoed in its events (qj_contact_id=42).",
)
@click.option("--provider", help="The provider to send through. Default: EMAILHOOK_SEND_PROVIDER.")
@click.option(
    "--category",
    type=click.Choice([c.value for c in Category]),
    help="marketing (the default: an unsubscribe blocks it) or transactional.",
)
@click.option("--send-at", "send_at", help="Send later: an ISO 8601 instant with its offset.")
@click.option(
    "--idempotency-key",
    "idempotency_key",
    help="The same key with the same options gives the same answer and sends nothing more.",
)
@click.option("--json", "as_json", is_flag=True, help="The answer as POST /messages gives it.")
def send(
    from_: str,
    to: Sequence[str],
    subject: str | None,
    text: str | None,
    html: str | None,
    reply_to: Sequence[str],
    metadata: dict[str, str],
    provider: str | None,
    category: str | None,
    send_at: str | None,
    idempotency_key: str | None,
    as_json: bool,
) -> None:
    """Send a message to each --to through the outbox, as POST /messages does: checked against
    the suppression list, committed, then sent by a worker. Prints the batch and each
    message's id, status and reason; a refused request prints each field's error, exits 1."""
    given: dict[str, Any] = {
        "from": from_,
        "to": [_recipient(item) for item in to],
        "reply_to": list(reply_to) or None,
        "subject": subject,
        "text": text,
        "html": html,
        "metadata": metadata or None,
        "provider": provider,
        "category": category,
        "send_at": send_at,
    }
    body = {name: value for name, value in given.items() if value is not None}
    with reported():
        answer = send_services().api.accept(body, orjson.dumps(body), idempotency_key)
    if answer.replayed:
        click.echo("(the answer kept for this Idempotency-Key: nothing more sent)", err=True)
    if as_json:
        click.echo(orjson.dumps(answer.body).decode())
        return
    click.echo(f"batch {answer.body['batch_id']}")
    for item in answer.body["messages"]:
        extra = item.get("reason") or item.get("send_at") or ""
        line = f"{item['id']}  {item['status']:10}  {item['to']}"
        click.echo(escaped(f"{line}  {extra}" if extra else line))


@click.group("outbox", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="The counts as one JSON object.")
@click.pass_context
def outbox_group(ctx: click.Context, as_json: bool) -> None:
    """The messages sent through emailhook. Alone: how many are in each send state."""
    if ctx.invoked_subcommand is not None:
        return
    with reported():
        found = send_services().messages.outbox_counts()
    counts = {state: found.get(state, 0) for state in _STATES}
    counts["total"] = sum(found.values())
    if as_json:
        click.echo(orjson.dumps(counts).decode())
        return
    for name, value in counts.items():
        click.echo(f"{name:>10}: {value}")


@outbox_group.command("list")
@click.option("--status", type=click.Choice(_STATES), help="Only messages in this state.")
@click.option("--batch", "batch_id", help="Only the messages of this batch.")
@click.option("--email", help="Only the messages to this address.")
@click.option("--contact", "qj_contact_id", type=int, help="Only this qj_contact_id.")
@click.option(
    "--limit", default=20, show_default=True, type=click.IntRange(1, 1000), help="Listed at most."
)
@click.option("--before", type=click.IntRange(min=1), help="The next page: the cursor printed.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def outbox_list(
    status: str | None,
    batch_id: str | None,
    email: str | None,
    qj_contact_id: int | None,
    limit: int,
    before: int | None,
    as_json: bool,
) -> None:
    """List messages, newest first: id, when, state, recipient, attempts and reason."""
    where = MessageFilter(
        batch_id=batch_id,
        qj_contact_id=qj_contact_id,
        status=status,
        email=email.lower() if email else None,
        before_id=before,
        limit=limit,
    )
    with reported():
        page = send_services().messages.page(where)
    if as_json:
        for item in page["items"]:
            click.echo(orjson.dumps(item, default=str).decode())
    else:
        click.echo(f"{'id':30}  {'created (UTC)':19}  {'state':10}  tries  to  reason")
        for m in page["items"]:
            created = _when(m["created_at"])
            line = f"{m['id']:30}  {created}  {m['status']:10}  {m['attempt_count']:>5}  {m['to']}"
            click.echo(escaped(f"{line}  {m['reason']}" if m["reason"] else line))
        if not page["items"]:
            click.echo("(none)")
    if page["next_cursor"] is not None:
        click.echo(f"more: --before {page['next_cursor']}", err=as_json)


@outbox_group.command("show")
@click.argument("public_id")
@click.option("--json", "as_json", is_flag=True, help="One JSON object, as GET /messages/<id>.")
def outbox_show(public_id: str, as_json: bool) -> None:
    """Show one message: its state, attempts, outcome and events (in the vocabulary)."""
    with reported():
        message = send_services().messages.get(public_id)
    if as_json:
        click.echo(orjson.dumps(message, default=str).decode())
        return
    for name in _SHOWN:
        value = message[name]
        shown = _when(value) if isinstance(value, datetime) else str(value or "-")
        click.echo(escaped(f"{name}: {shown}"))
    click.echo(escaped(f"metadata: {orjson.dumps(message['metadata']).decode()}"))
    outcome = message["outcome"] or {}
    click.echo("outcome: " + (", ".join(f"{k} {_when(v)}" for k, v in outcome.items()) or "-"))
    click.echo(f"attempts ({len(message['attempts'])}):")
    for a in message["attempts"]:
        status = a["http_status"] or "-"
        line = f"  {_when(a['at'])}  {a['action']}  {a['outcome']}  HTTP {status}"
        click.echo(escaped(f"{line}  {a['reason']}" if a["reason"] else line))
    click.echo(f"events ({len(message['events'])}):")
    for e in message["events"]:
        when = _when(e["event_at"] or e["received_at"])
        detail = " ".join(str(v) for v in (e["bounce_class"], e["reject_reason"], e["url"]) if v)
        click.echo(escaped(f"  {when}  {e['event_type']}  {e['status']}  {detail}".rstrip()))


def _when(instant: datetime | None) -> str:
    return instant.strftime("%Y-%m-%d %H:%M:%S") if instant is not None else "-"
