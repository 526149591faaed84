"""The threads a worker runs beside its pool: the relay (inbox -> queue), the spool sweep and
the periodic jobs (reconciliation, suppression sync, prune): no Celery beat to run."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from celery import bootsteps

from emailhook.composition.worker import WorkerServices
from emailhook.entrypoints.worker.periodic import start_every
from emailhook.service.receive.relay import Publish
from emailhook.service.send.relay import PublishSend

log = logging.getLogger("emailhook.worker")


@dataclass(frozen=True, slots=True)
class RelayThreads:
    """The relays and the spool sweep of a worker; :meth:`halt` ends them."""

    relay: threading.Thread
    stop: threading.Event
    #: wakes the relay from an idle wait
    nudge: Callable[[], None]

    def halt(self) -> None:
        """Stop every thread, the relay at once rather than at the end of its idle wait."""
        self.stop.set()
        self.nudge()


def start_relay(
    services: WorkerServices, publish: Publish, publish_send: PublishSend | None = None
) -> RelayThreads:
    """Start the relay, publishing through ``publish``, the send relay (outbox ->
    ``email-send``, through ``publish_send``) and the sweep of stopped web servers' spools
    (every segment of the machine's folder, unless ``spool_mover=web`` leaves the live ones to
    their web processes)."""
    relay = services.relay(publish)
    stop = threading.Event()
    thread = threading.Thread(target=relay.run_forever, args=(stop,), name="emailhook-relay")
    thread.daemon = True
    thread.start()
    if publish_send is not None:
        send_relay = services.send_relay(publish_send)
        threading.Thread(
            target=send_relay.run_forever, args=(stop,), name="emailhook-send-relay", daemon=True
        ).start()
    sweeper = services.sweeper()
    # Unless spool_mover=web the sweep moves the live segments as well, every tenth of a
    # second, in this process at the worker's priority rather than in the web's answering ones
    # (which, on PostgreSQL's auto, stand aside while it runs).
    # What it moves wakes the relay, which waits longer and longer while it finds nothing.
    sweep = sweeper.move_forever if services.settings.spool_moved_by_worker else None
    threading.Thread(
        target=sweep or sweeper.sweep_forever,
        args=(stop, relay.nudge),
        name="emailhook-spool-sweep",
        daemon=True,
    ).start()
    return RelayThreads(thread, stop, relay.nudge)


def start_periodic(services: WorkerServices, stop: threading.Event) -> list[threading.Thread]:
    """Start a thread for each periodic job the settings turn on; return them."""
    return [
        start_every(job.name, job.interval_seconds, job.run, stop) for job in services.periodic()
    ]


class BackgroundStep(bootsteps.StartStopStep):
    """Starts the relay (unless ``EMAILHOOK_RELAY_IN_WORKER`` is off) and the periodic jobs in
    the worker's main process, beside the pool; stops them with the worker."""

    requires = ("celery.worker.components:Pool",)

    def __init__(self, worker: Any, **kwargs: Any) -> None:
        super().__init__(worker, **kwargs)
        self._relay: RelayThreads | None = None
        self._periodic_stop = threading.Event()
        self._periodic: list[threading.Thread] = []

    def start(self, worker: Any) -> None:
        services: WorkerServices = worker.app.services
        if services.settings.relay_in_worker:
            self._relay = start_relay(services, worker.app.publish, worker.app.publish_send)
            log.info("relay started; send relay started")
        self._periodic = start_periodic(services, self._periodic_stop)
        if self._periodic:
            log.info("started %s", ", ".join(t.name for t in self._periodic))

    def stop(self, worker: Any) -> None:
        self._periodic_stop.set()
        for thread in self._periodic:
            thread.join(timeout=10)
        if self._relay:
            self._relay.halt()
            self._relay.relay.join(timeout=10)
