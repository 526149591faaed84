"""Commands that look after accepted bodies and stored events: list, show, replay, backlog."""

from __future__ import annotations

from collections.abc import Sequence

import click
import orjson

from emailhook.adapters.reads.queries import latest_callbacks
from emailhook.domain.inbox import BodyState
from emailhook.domain.printable import escaped
from emailhook.entrypoints.cli.context import database, operators_service
from emailhook.entrypoints.cli.errors import reported
from emailhook.entrypoints.cli.progress import progress
from emailhook.service.operations import REPLAYABLE

_STATES = click.Choice([state.value for state in BodyState])


@click.group("inbox")
def inbox_group() -> None:
    """Accepted bodies: list, show and replay dead-lettered or unrecognized ones."""


@inbox_group.command("list")
@click.option(
    "--state", "states", multiple=True, type=_STATES, help="Default: dead and unrecognized."
)
@click.option("--limit", default=50, show_default=True, type=int, help="Bodies listed at most.")
def inbox_list(states: Sequence[str], limit: int) -> None:
    """List bodies, newest first, with their errors."""
    wanted = [BodyState(s) for s in states] or list(REPLAYABLE)
    with reported():
        bodies = operators_service().list_bodies(wanted, limit)
    click.echo(f"{'id':>8}  {'received (UTC)':19}  {'state':12}  {'shape':16}  tries  error")
    for b in bodies:
        error = escaped((b.last_error or "").replace("\n", " ")[:80])
        received = b.received_at.strftime("%Y-%m-%d %H:%M:%S")
        shape = escaped(b.shape)
        click.echo(f"{b.id:>8}  {received}  {b.state:12}  {shape:16}  {b.attempts:>5}  {error}")
    if not bodies:
        click.echo("(none)")


@inbox_group.command("show")
@click.argument("body_id", type=int)
def inbox_show(body_id: int) -> None:
    """Show one body: its bookkeeping and the raw JSON as received."""
    with reported():
        body = operators_service().get_body(body_id)
    if body is None:
        raise click.ClickException(f"no body {body_id}")
    for name in ("id", "received_at", "state", "shape", "event_count", "other_items", "attempts"):
        click.echo(f"{name}: {escaped(str(getattr(body, name)))}")
    click.echo(f"deliveries: {body.deliveries}\nlast_error: {escaped(body.last_error or '-')}")
    try:
        pretty = orjson.dumps(orjson.loads(body.body), option=orjson.OPT_INDENT_2).decode()
    except orjson.JSONDecodeError:
        pretty = body.body.decode("utf-8", "replace")
    # line by line: the layout's own newlines stay, a value's control characters do not
    click.echo("\n".join(escaped(line) for line in pretty.split("\n")))


@inbox_group.command("replay")
@click.argument("body_ids", nargs=-1, type=int)
@click.option("--dead", is_flag=True, help="Replay every dead-lettered body.")
@click.option("--unrecognized", is_flag=True, help="Replay every unrecognized body.")
def inbox_replay(body_ids: Sequence[int], dead: bool, unrecognized: bool) -> None:
    """Queue bodies again; storing is idempotent, so a replay never doubles an event."""
    states = [s for s, on in ((BodyState.DEAD, dead), (BodyState.UNRECOGNIZED, unrecognized)) if on]
    if not body_ids and not states:
        raise click.UsageError("name body ids, or --dead / --unrecognized")
    with reported():
        operations = operators_service()
        total = len(body_ids) or operations.count_bodies(states)
        with progress("queueing bodies again", total) as advance:
            count = operations.replay(body_ids, states, on_batch=advance)
    click.echo(f"{count} bodies queued again")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
def backlog(as_json: bool) -> None:
    """Show the bodies by state, events stored, and what the spool holds not yet moved."""
    with reported():
        counts = operators_service().backlog().as_dict()
    if as_json:
        click.echo(orjson.dumps(counts).decode())
        return
    for name, value in counts.items():
        click.echo(f"{name:>19}: {value}")


@click.command()
@click.option("--limit", default=20, show_default=True, type=int, help="Rows printed at most.")
@click.option("--contact", "qj_contact_id", type=int, help="Only this qj_contact_id.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def events(limit: int, qj_contact_id: int | None, as_json: bool) -> None:
    """Print the latest stored email_callback rows."""
    columns = ("id", "data_recebimento", "status", "email", "id_externo", "qj_contact_id")
    with database().sessions.begin() as session:
        rows = latest_callbacks(session, limit=limit, qj_contact_id=qj_contact_id)
        if not as_json:
            click.echo("  ".join(columns))
        for row in rows:
            values = {name: getattr(row, name) for name in columns}
            if as_json:
                click.echo(orjson.dumps(values).decode())
            else:
                click.echo("  ".join(escaped(str(v)) for v in values.values()))
