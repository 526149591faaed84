"""Commands that run the service: web and worker together, or each on its own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Sequence

import click

from emailhook.adapters.db.engine import migrate
from emailhook.entrypoints.cli import supervisor
from emailhook.entrypoints.cli.context import settings as current_settings
from emailhook.entrypoints.web import operators
from emailhook.entrypoints.worker.queues import QUEUE, SEND_QUEUE
from emailhook.observability.metrics import clear_metrics
from emailhook.service.errors import ConfigurationError
from emailhook.service.receive.auth import require_authentication
from emailhook.settings import Settings


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
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


#: what each server process runs: webhooks on its event loop, the rest on Flask's threads
FRONT = "emailhook.entrypoints.web.front:create_front"


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--workers", default=2, show_default=True, type=int, help="Server processes.")
@click.option(
    "--threads",
    default=8,
    show_default=True,
    type=int,
    help="Flask threads per process (query API, dashboard, ops); webhooks need none.",
)
@click.option("--target", default=FRONT, hidden=True, help="ASGI app factory.")
def serve(host: str, port: int, workers: int, threads: int, target: str) -> None:
    """Serve the web app with uvicorn: webhooks from an event loop, the rest with Flask."""
    settings = _startable_settings()  # a refusal here, not in each server process
    operators.announce(settings, host)
    environment = dict(os.environ)
    environment["EMAILHOOK_WEB_THREADS"] = str(threads)
    if settings.auto_migrate:
        # Once, here, rather than raced by every server process: they are told not to.
        migrate(settings)
        environment["EMAILHOOK_AUTO_MIGRATE"] = "false"
    if settings.spool_mover_beside_web:
        # The spool's mover out of the answering processes (web/spool_mover.py): it stays
        # this process's child across the exec below, and ends with it.
        mover = [sys.executable, "-m", "emailhook.entrypoints.web.spool_mover"]
        subprocess.Popen([*mover, "--parent", str(os.getpid())], env=environment)
    # uvicorn with httptools on uvloop, one write per answer: web/server.py says why
    argv = [sys.executable, "-m", "emailhook.entrypoints.web.server", "--target", target]
    argv += ["--host", host, "--port", str(port), "--workers", str(workers)]
    # Replaced by uvicorn's own command, as `worker` is by Celery's: the server's processes
    # then hold uvicorn and the app, not this command's imports (Alembic, Celery: ~25 MB
    # that every server process would carry).
    os.execve(sys.executable, argv, environment)  # noqa: S606 (no shell involved)


@click.command(context_settings={"ignore_unknown_options": True})
@click.option(
    "--concurrency", "-c", default=2, show_default=True, type=int, help="Worker processes."
)
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
def worker(concurrency: int, celery_args: Sequence[str]) -> None:
    """Run a Celery worker on the email-webhook and email-send queues (with the relays)."""
    queues = f"{QUEUE},{SEND_QUEUE}"
    argv = [sys.executable, "-m", "celery", "-A", "emailhook", "worker", "-Q", queues]
    argv += ["--loglevel=info", f"--concurrency={concurrency}", *celery_args]
    os.execv(sys.executable, argv)  # noqa: S606 (replaces this process; no shell involved)


@click.command()
def relay() -> None:
    """Run only the relays (inbox and outbox -> queues), for workers started with
    EMAILHOOK_RELAY_IN_WORKER=0."""
    # Here, not at the top: the other commands of this module start no Celery app.
    from emailhook.entrypoints.worker.app import create_celery
    from emailhook.entrypoints.worker.background import start_relay

    app = create_celery(current_settings())
    threads = start_relay(app.services, app.publish, app.publish_send)
    signal.signal(signal.SIGTERM, lambda *_: threads.halt())
    try:
        while threads.relay.is_alive():
            threads.relay.join(timeout=0.5)
    except KeyboardInterrupt:
        threads.halt()
        threads.relay.join()


def _startable_settings() -> Settings:
    """Return the settings, or exit non-zero saying why the web app would refuse to start."""
    settings = current_settings()
    try:
        require_authentication(settings)
    except ConfigurationError as error:
        raise click.ClickException(str(error)) from error
    return settings


def _self() -> list[str]:
    return [sys.executable, "-m", "emailhook"]
