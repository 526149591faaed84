"""``emailhook campaign``: create a campaign from a JSON Lines or CSV file of recipients
(through the same service as ``POST /campaigns``), show it and write its report, pause,
resume and cancel it."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, Any

import click
import orjson

from emailhook.adapters.reads.campaign_report import COLUMNS as REPORT_COLUMNS
from emailhook.domain.csv_cells import csv_lines
from emailhook.domain.printable import escaped
from emailhook.domain.sending.message import Category
from emailhook.entrypoints.cli.context import send_services
from emailhook.entrypoints.cli.errors import reported
from emailhook.entrypoints.cli.progress import progress
from emailhook.entrypoints.cli.sending import key_values
from emailhook.service.errors import InvalidRequestError

#: an upload's error key: ``line 12`` or ``line 12.email`` (``row 12``: a CSV file's)
_LINE = re.compile(r"^(line|row) (\d+)(\..*)?$")
#: the message's errors when it comes apart from the recipients (a CSV file's)
_MESSAGE = re.compile(r"^message(\..*)?$")


@click.group("campaign")
def campaign_group() -> None:
    """Campaigns: one message to many recipients, paced, paused, resumed and cancelled."""


@campaign_group.command("create")
@click.argument("recipients", type=click.File("rb"))
@click.option("--from", "from_", required=True, help="The sender: an address or 'Name <a@x>'.")
@click.option("--subject", help="The subject; {{name}} placeholders from each merge_data.")
@click.option("--text", help="The plain-text body.")
@click.option("--html", help="The HTML body.")
@click.option("--template-id", "template_id", help="The provider's template instead of a body.")
@click.option(
    "--metadata",
    multiple=True,
    callback=key_values,
    help="key=value kept with each message and echoed in its events (qj_firing_id=7).",
)
@click.option("--provider", help="The provider to send through. Default: EMAILHOOK_SEND_PROVIDER.")
@click.option(
    "--category",
    type=click.Choice([c.value for c in Category]),
    help="marketing (the default: an unsubscribe blocks it) or transactional.",
)
@click.option("--rate", type=click.FloatRange(min=0, min_open=True), help="Messages a second.")
@click.option(
    "--idempotency-key",
    "idempotency_key",
    help="The same key with the same file and options gives the same campaign, nothing more.",
)
@click.option(
    "--format",
    "kind",
    type=click.Choice(["jsonl", "csv"]),
    help="The file's format. Default: csv for a .csv file, else JSON Lines.",
)
@click.option("--json", "as_json", is_flag=True, help="The answer as POST /campaigns gives it.")
def create(
    recipients: IO[bytes],
    from_: str,
    subject: str | None,
    text: str | None,
    html: str | None,
    template_id: str | None,
    metadata: dict[str, str],
    provider: str | None,
    category: str | None,
    rate: float | None,
    idempotency_key: str | None,
    kind: str | None,
    as_json: bool,
) -> None:
    """Create a campaign from RECIPIENTS, a JSON Lines file of one recipient a line
    ({"email", "name"?, "merge_data"?, "metadata"?}) or a CSV file (a header row: email,
    name, merge fields, metadata.<key> columns; then a recipient a row); - for standard
    input. Read a line at a time as POST /campaigns reads it, a progress bar of the bytes
    read on a terminal. A bad line or row prints each one's error and keeps nothing
    (exit 1)."""
    given: dict[str, Any] = {
        "from": from_,
        "subject": subject,
        "text": text,
        "html": html,
        "template_id": template_id,
        "metadata": metadata or None,
        "provider": provider,
        "category": category,
        "rate": rate,
    }
    header = orjson.dumps({k: v for k, v in given.items() if v is not None})
    kind = kind or ("csv" if recipients.name.lower().endswith(".csv") else "jsonl")
    with (
        reported(),
        _by_file_line(recipients.name),
        progress("uploading", _size(recipients)) as advance,
    ):
        service = send_services().campaigns
        if kind == "csv":
            answer = service.create_from(header, _read(recipients, advance), kind, idempotency_key)
        else:
            answer = service.create(_lines(header, recipients, advance), idempotency_key)
    if answer.replayed:
        click.echo("(the campaign made for this Idempotency-Key: nothing more sent)", err=True)
    if as_json:
        click.echo(orjson.dumps(answer.body).decode())
        return
    body = answer.body
    click.echo(
        f"campaign {body['id']}: {body['recipients']} recipients"
        f" ({body['suppressed']} suppressed), {body['duplicates']} duplicates not added"
    )


@campaign_group.command("show")
@click.argument("public_id")
@click.option("--json", "as_json", is_flag=True, help="One JSON object, as GET /campaigns/<id>.")
def show(public_id: str, as_json: bool) -> None:
    """Show a campaign: its state, pause reason, rate and messages by state."""
    with reported():
        found = send_services().campaigns.show(public_id)
    _print(found, as_json)


@campaign_group.command("report")
@click.argument("public_id")
@click.option(
    "--output",
    "-o",
    type=click.File("w", encoding="utf-8"),
    default="-",
    help="The CSV file to write (default: standard output).",
)
def report(public_id: str, output: IO[str]) -> None:
    """Write a campaign's report as CSV: each recipient's message, its send state and
    reason, and the first time of each outcome its events reported (GET
    /campaigns/<id>/report)."""
    with reported():
        chunks = send_services().campaigns.report(public_id)
        for piece in csv_lines(REPORT_COLUMNS, chunks):
            output.write(piece)


@campaign_group.command("pause")
@click.argument("public_id")
@click.option("--reason", help="Why: shown as the campaign's pause reason.")
def pause(public_id: str, reason: str | None) -> None:
    """Pause a campaign: nothing more of it is sent until it is resumed."""
    with reported():
        _print(send_services().campaigns.pause(public_id, reason), as_json=False)


@campaign_group.command("resume")
@click.argument("public_id")
def resume(public_id: str) -> None:
    """Resume a paused campaign: each message not yet sent is sent once."""
    with reported():
        _print(send_services().campaigns.resume(public_id), as_json=False)


@campaign_group.command("cancel")
@click.argument("public_id")
def cancel(public_id: str) -> None:
    """Cancel a campaign: its queued and scheduled messages end cancelled."""
    with reported():
        _print(send_services().campaigns.cancel(public_id), as_json=False)


def _print(campaign: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(orjson.dumps(campaign).decode())
        return
    for name in ("id", "state", "pause_reason", "rate", "provider", "created_at"):
        click.echo(escaped(f"{name}: {campaign[name] if campaign[name] is not None else '-'}"))
    click.echo(
        f"uploaded: {campaign['recipients']} recipients, {campaign['suppressed']} suppressed,"
        f" {campaign['duplicates']} duplicates not added"
    )
    counts = campaign["messages"]
    click.echo("messages: " + (", ".join(f"{s} {n}" for s, n in counts.items() if n) or "-"))
    warning = campaign.get("guards", {}).get("warning")
    if warning:
        click.echo(escaped(f"warning: {warning}"))


@contextmanager
def _by_file_line(name: str) -> Iterator[None]:
    """Name a refused upload's errors as the command's user sees them: the message's (the
    upload's line 1) by option, the recipients' by their line of the file."""
    try:
        yield
    except InvalidRequestError as error:
        errors: dict[str, list[str]] = {}
        for where, problems in error.errors.items():
            errors.setdefault(_renamed(where, name), []).extend(problems)
        raise InvalidRequestError(str(error), errors) from None


def _renamed(where: str, name: str) -> str:
    """Return an upload's error key as the command's user sees it."""
    if (message := _MESSAGE.match(where)) is not None:
        return _option(message[1])
    found = _LINE.match(where)
    if found is None:
        return where
    unit, number, field = found[1], int(found[2]), found[3] or ""
    if unit == "line":  # the upload's first line is the message, made of the options
        if number == 1:
            return _option(field)
        number -= 1
    return f"{name} {unit} {number}{field}"


def _option(field: str | None) -> str:
    """Return the option a message's field is given by (``options``: the message itself)."""
    return f"--{field.lstrip('.').replace('_', '-')}" if field else "options"


def _size(file: IO[bytes]) -> int:
    """Return the file's size in bytes (1 when it has none: a pipe)."""
    try:
        return max(1, os.fstat(file.fileno()).st_size)
    except (OSError, ValueError):
        return 1


def _lines(header: bytes, file: IO[bytes], advance: Callable[[int], None]) -> Iterator[bytes]:
    """Return the upload's lines: the message, then the file's, the progress advanced by each."""
    yield header
    yield from _read(file, advance)


def _read(file: IO[bytes], advance: Callable[[int], None]) -> Iterator[bytes]:
    """Return the file's lines, the progress advanced by each."""
    for line in file:
        advance(len(line))
        yield line
