"""The Celery app: the task that stores bodies, and the relay that feeds the queue."""

from __future__ import annotations

import functools
import logging
import os
import threading
from typing import Any

from celery import Celery, bootsteps
from celery.signals import setup_logging, worker_init
from kombu import Queue

from emailhook.adapters.broker.config import broker_config
from emailhook.composition import WorkerServices
from emailhook.observability.logs import configure_logging
from emailhook.observability.metrics import configure_metrics, record_stored
from emailhook.observability.redaction import install_redaction
from emailhook.service.receive.relay import Publish

log = logging.getLogger("emailhook.worker")

#: The queue named in the brief; producers and workers agree on nothing else.
QUEUE = "email-webhook"
#: Explicit task name: the wire format stays stable whatever the module is called.
PROCESS_BODIES = "emailhook.process_bodies"


def build_celery(services: WorkerServices) -> Celery:
    """Return a Celery app wired to the configured broker, with the task and the relay."""
    settings = services.settings
    install_redaction(settings)  # broker and database passwords masked in logs
    configure_metrics(settings)
    # Celery leaves logging to us when someone listens: its lines get our format too.
    setup_logging.connect(
        functools.partial(_configure_logging, level=settings.log_level),
        weak=False,
        dispatch_uid="emailhook.logs",
    )
    # Before the pool forks and the relay starts: every process and thread inherits it.
    worker_init.connect(
        lambda **_: lower_priority(settings.worker_nice),
        weak=False,
        dispatch_uid="emailhook.nice",
    )
    app = Celery("emailhook", set_as_current=False)
    app.conf.update(broker_config(settings))
    app.conf.update(
        task_queues=[Queue(QUEUE, durable=True)],
        task_default_queue=QUEUE,
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        # At-least-once: ack after the task ran, redeliver when the worker dies mid-task.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # Each process holds one batch in reserve: when it finishes a batch the next is
        # already here, with no broker round trip or folder-queue poll (50 ms) in between.
        # Reserved batches are unacked, so a lost worker gives them back like the running one.
        worker_prefetch_multiplier=2,
        worker_hijack_root_logger=False,
    )
    app.emailhook_services = services  # type: ignore[attr-defined]

    @app.task(name=PROCESS_BODIES)
    def process_bodies(body_ids: list[int]) -> dict[str, object]:
        outcome = services.processor().process(body_ids)
        record_stored(outcome.stored, outcome.duplicates, outcome.latencies, outcome.other_channels)
        return outcome.as_dict()

    app.steps["worker"].add(RelayStep)
    return app


def lower_priority(nice: int) -> None:
    """Run this thread, and what it starts from now on, at ``nice`` unless it runs lower."""
    if os.getpriority(os.PRIO_PROCESS, 0) < nice:
        os.setpriority(os.PRIO_PROCESS, 0, nice)


def _configure_logging(loglevel: int | str | None = None, *, level: str, **_: Any) -> None:
    configure_logging(loglevel if isinstance(loglevel, int) else logging.INFO, root=True)
    # Celery's --loglevel sets its own lines; EMAILHOOK_LOG_LEVEL sets emailhook's (DEBUG: a
    # line per stored body with its request id)
    logging.getLogger("emailhook").setLevel(level)


def celery_publisher(app: Celery, timeout: float) -> Publish:
    """Return a function that publishes a batch of body ids, failing fast if the broker is down.

    No retries here: a failed publish leaves the bodies due in the inbox, and the relay's
    next pass tries again. ``timeout`` bounds the write and RabbitMQ's publisher confirm.
    """

    def publish(body_ids: list[int]) -> None:
        app.send_task(
            PROCESS_BODIES,
            args=[body_ids],
            queue=QUEUE,
            retry=False,
            timeout=timeout,
            confirm_timeout=timeout,
        )

    return publish


class RelayStep(bootsteps.StartStopStep):
    """Runs the relay in the worker's main process, beside the pool; and, while Infobip
    credentials are set, reconciliation and suppression sync on their intervals (a thread
    each: no Celery beat to run)."""

    requires = ("celery.worker.components:Pool",)

    def __init__(self, worker: Any, **kwargs: Any) -> None:
        super().__init__(worker, **kwargs)
        self._thread: threading.Thread | None = None
        self._stop: threading.Event | None = None
        self._pulls_stop = threading.Event()
        self._pulls: list[threading.Thread] = []

    def start(self, worker: Any) -> None:
        services: WorkerServices = worker.app.emailhook_services
        if services.settings.relay_in_worker:
            publish = celery_publisher(worker.app, services.settings.broker_timeout_seconds)
            threads = services.start_relay(publish)
            self._thread, self._stop = threads.relay, threads.stop
            log.info("relay started")
        self._pulls = services.start_pulls(self._pulls_stop)
        if self._pulls:
            log.info("started %s", ", ".join(t.name for t in self._pulls))

    def stop(self, worker: Any) -> None:
        self._pulls_stop.set()
        for thread in self._pulls:
            thread.join(timeout=10)
        if self._thread and self._stop:
            self._stop.set()
            self._thread.join(timeout=10)
