"""The ``emailhook`` console script: run the service and look after its inbox."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from datetime import timedelta

import click
import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from emailhook.adapters import email_state, inbox, prune, rollup
from emailhook.adapters.database import create_db_engine
from emailhook.adapters.migrations import check, upgrade
from emailhook.adapters.models import BodyState, EmailCallback
from emailhook.adapters.spool_promoter import spool_backlog
from emailhook.bootstrap import Database, migrate, open_database, soft_bounce_rule
from emailhook.clock import utcnow
from emailhook.entrypoints import supervisor
from emailhook.entrypoints.worker import QUEUE
from emailhook.logs import configure_logging
from emailhook.metrics import clear_metrics
from emailhook.service import operators
from emailhook.service.auth import require_authentication
from emailhook.service.errors import ConfigurationError
from emailhook.settings import Settings


@click.group()
def main() -> None:
    """emailhook: Infobip e-mail webhooks in, every event stored exactly once."""
    configure_logging()


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int, help="Web server processes.")
@click.option("--concurrency", default=2, show_default=True, type=int, help="Worker processes.")
def run(host: str, port: int, workers: int, concurrency: int) -> None:
    """Run web server and worker together; Ctrl-C stops both."""
    settings = _startable_settings()
    migrate(settings)
    clear_metrics(settings)
    serve_cmd = [*_self(), "serve", "--host", host, "--port", str(port), "--workers", str(workers)]
    worker_cmd = [*_self(), "worker", "--concurrency", str(concurrency)]
    click.echo(f"emailhook: POST http://{host}:{port}/email  (data in {settings.data_dir})")
    click.echo(f"dashboard: http://{host}:{port}/")
    sys.exit(supervisor.run_together({"web": serve_cmd, "worker": worker_cmd}))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int, help="Server processes.")
@click.option("--threads", default=8, show_default=True, type=int, help="Threads per process.")
@click.option("--target", default="emailhook:create_app", hidden=True, help="App factory.")
def serve(host: str, port: int, workers: int, threads: int, target: str) -> None:
    """Serve the web app with granian, a production WSGI server."""
    settings = _startable_settings()  # a refusal here, not in each granian worker
    operators.announce(settings, host)
    if settings.auto_migrate:
        # Once, here, rather than raced by every server process.
        migrate(settings)
        os.environ["EMAILHOOK_AUTO_MIGRATE"] = "false"
    argv = [sys.executable, "-m", "granian", "--interface", "wsgi", "--factory"]
    argv += ["--host", host, "--port", str(port), "--workers", str(workers)]
    argv += ["--blocking-threads", str(threads), "--no-access-log", target]
    # Replaced by granian's own command, as `worker` is by Celery's: the server's processes
    # then hold granian and the app, not this command's imports (Alembic, Celery: ~25 MB
    # that every forked server process would carry).
    os.execv(sys.executable, argv)  # noqa: S606 (no shell involved)


@main.command(context_settings={"ignore_unknown_options": True})
@click.option("--concurrency", "-c", default=2, show_default=True, type=int)
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
def worker(concurrency: int, celery_args: Sequence[str]) -> None:
    """Run a Celery worker on the email-webhook queue (with the relay)."""
    argv = [sys.executable, "-m", "celery", "-A", "emailhook", "worker", "-Q", QUEUE]
    argv += ["--loglevel=info", f"--concurrency={concurrency}", *celery_args]
    os.execv(sys.executable, argv)  # noqa: S606 (replaces this process; no shell involved)


@main.command()
def relay() -> None:
    """Run only the relay (inbox -> queue), for workers started with EMAILHOOK_RELAY_IN_WORKER=0."""
    import signal

    from emailhook import celery as celery_app
    from emailhook.entrypoints.worker import start_relay

    thread, stop = start_relay(celery_app, Settings())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while thread.is_alive():
            thread.join(timeout=0.5)
    except KeyboardInterrupt:
        stop.set()
        thread.join()


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration."""
    migrate(Settings())
    click.echo("database is up to date")


@db.command("check")
def db_check() -> None:
    """Fail if the models hold changes that no migration has."""
    settings = Settings()
    engine = create_db_engine(settings, lock_timeout_seconds=settings.worker_lock_timeout_seconds)
    upgrade(engine)
    check(engine)
    click.echo("migrations match the models")


@main.group("state")
def state_group() -> None:
    """Derived state: per-contact e-mail status, status counts, suppression list, rollup."""


@state_group.command("rebuild")
def state_rebuild() -> None:
    """Recompute the derived tables from every stored event (stop the workers first)."""
    settings = Settings()
    with _sessions().begin() as session:
        events = email_state.rebuild(session, soft_bounce_rule(settings))
        rollup.rebuild(session)
    click.echo(f"derived state and dashboard rollup rebuilt from {events} events")


_STATES = click.Choice([state.value for state in BodyState])


@main.group("inbox")
def inbox_group() -> None:
    """Accepted bodies: list, show and replay dead-lettered or unrecognized ones."""


@inbox_group.command("list")
@click.option(
    "--state", "states", multiple=True, type=_STATES, help="Default: dead and unrecognized."
)
@click.option("--limit", default=50, show_default=True, type=int)
def inbox_list(states: Sequence[str], limit: int) -> None:
    """List bodies, newest first, with their errors."""
    wanted = [BodyState(s) for s in states] or [BodyState.DEAD, BodyState.UNRECOGNIZED]
    with _sessions().begin() as session:
        bodies = inbox.list_bodies(session, states=wanted, limit=limit)
        click.echo(f"{'id':>8}  {'received (UTC)':19}  {'state':12}  {'shape':16}  tries  error")
        for b in bodies:
            error = (b.last_error or "").replace("\n", " ")[:80]
            received = b.received_at.strftime("%Y-%m-%d %H:%M:%S")
            click.echo(
                f"{b.id:>8}  {received}  {b.state:12}  {b.shape:16}  {b.attempts:>5}  {error}"
            )
    if not bodies:
        click.echo("(none)")


@inbox_group.command("show")
@click.argument("body_id", type=int)
def inbox_show(body_id: int) -> None:
    """Show one body: its bookkeeping and the raw JSON as received."""
    with _sessions().begin() as session:
        body = inbox.get_body(session, body_id)
        if body is None:
            raise click.ClickException(f"no body {body_id}")
        for name in ("id", "received_at", "state", "shape", "event_count", "attempts"):
            click.echo(f"{name}: {getattr(body, name)}")
        click.echo(f"deliveries: {body.deliveries}\nlast_error: {body.last_error or '-'}")
        try:
            pretty = orjson.dumps(orjson.loads(body.body), option=orjson.OPT_INDENT_2).decode()
        except orjson.JSONDecodeError:
            pretty = body.body.decode("utf-8", "replace")
        click.echo(pretty)


@inbox_group.command("replay")
@click.argument("body_ids", nargs=-1, type=int)
@click.option("--dead", is_flag=True, help="Replay every dead-lettered body.")
@click.option("--unrecognized", is_flag=True, help="Replay every unrecognized body.")
def inbox_replay(body_ids: Sequence[int], dead: bool, unrecognized: bool) -> None:
    """Queue bodies again; storing is idempotent, so a replay never doubles an event."""
    states = [s for s, on in ((BodyState.DEAD, dead), (BodyState.UNRECOGNIZED, unrecognized)) if on]
    if not body_ids and not states:
        raise click.UsageError("name body ids, or --dead / --unrecognized")
    with _sessions().begin() as session:
        missing = inbox.missing(session, body_ids)
        if missing:
            raise click.ClickException(
                f"no body {', '.join(map(str, missing))}: pruned past the retention"
                " (EMAILHOOK_INBOX_RETENTION_DAYS) or never accepted; its events, if any,"
                " are stored"
            )
        count = inbox.replay(session, now=utcnow(), ids=body_ids, states=states)
    click.echo(f"{count} bodies queued again")


@main.command("prune")
@click.option("--dry-run", is_flag=True, help="Only count what would be deleted.")
def prune_command(dry_run: bool) -> None:
    """Delete processed inbox bodies older than EMAILHOOK_INBOX_RETENTION_DAYS."""
    settings = Settings()
    if settings.inbox_retention_days is None:
        raise click.ClickException("EMAILHOOK_INBOX_RETENTION_DAYS is not set: nothing to prune")
    before = utcnow() - timedelta(days=settings.inbox_retention_days)
    sessions = _database(settings).sessions
    if dry_run:
        with sessions.begin() as session:
            click.echo(f"{prune.prunable(session, before)} bodies processed before {before}")
        return
    done = prune.prune(sessions, before)
    click.echo(f"{done.bodies} bodies processed before {before} deleted ({done.batches} batches)")


@main.command()
@click.option("--json", "as_json", is_flag=True)
def backlog(as_json: bool) -> None:
    """Show the bodies by state, events stored, and what the spool holds not yet moved."""
    settings = Settings()
    database = _database(settings)
    with database.sessions.begin() as session:
        counts = inbox.backlog(session)
        counts["events_stored"] = session.execute(select(func.count(EmailCallback.id))).scalar_one()
    counts["spool_files"], counts["spool_unmoved_bytes"] = spool_backlog(
        database.engine, settings.resolved_spool_dir
    )
    if as_json:
        click.echo(orjson.dumps(counts).decode())
        return
    for name, value in counts.items():
        click.echo(f"{name:>19}: {value}")


@main.command()
@click.option("--limit", default=20, show_default=True, type=int)
@click.option("--contact", "qj_contact_id", type=int, help="Only this qj_contact_id.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def events(limit: int, qj_contact_id: int | None, as_json: bool) -> None:
    """Print the latest stored email_callback rows."""
    stmt = select(EmailCallback).order_by(EmailCallback.id.desc()).limit(limit)
    if qj_contact_id is not None:
        stmt = stmt.where(EmailCallback.qj_contact_id == qj_contact_id)
    columns = ("id", "data_recebimento", "status", "email", "id_externo", "qj_contact_id")
    with _sessions().begin() as session:
        rows = list(session.execute(stmt).scalars())
        if not as_json:
            click.echo("  ".join(columns))
        for row in rows:
            values = {name: getattr(row, name) for name in columns}
            if as_json:
                click.echo(orjson.dumps(values).decode())
            else:
                click.echo("  ".join(str(v) for v in values.values()))


def _startable_settings() -> Settings:
    """Return the settings, or exit non-zero saying why the web app would refuse to start."""
    settings = Settings()
    try:
        require_authentication(settings)
    except ConfigurationError as error:
        raise click.ClickException(str(error)) from error
    return settings


def _database(settings: Settings | None = None) -> Database:
    settings = settings or Settings()
    return open_database(settings, lock_timeout_seconds=settings.worker_lock_timeout_seconds)


def _sessions() -> sessionmaker[Session]:
    return _database().sessions


def _self() -> list[str]:
    return [sys.executable, "-m", "emailhook"]
