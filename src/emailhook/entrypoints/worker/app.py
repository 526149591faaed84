"""The Celery app: the task that stores bodies, wired to the configured broker.

``create_celery`` builds it from settings; ``worker_app`` is a worker process's entry (``celery
-A emailhook worker`` reaches it through ``emailhook.celery``): observability configured once,
then the app, whose bootstep starts the relay and the periodic jobs beside the pool.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable
from typing import Any

from celery import Celery
from celery.signals import setup_logging, task_prerun, worker_init
from kombu import Queue

from emailhook.adapters.broker.config import broker_config
from emailhook.composition import load_settings
from emailhook.composition.worker import WorkerServices, worker_services
from emailhook.entrypoints.priority import lower_priority
from emailhook.entrypoints.worker.background import BackgroundStep
from emailhook.entrypoints.worker.queues import QUEUE, SEND_QUEUE
from emailhook.observability import answer_sigusr2_with_stacks, configure
from emailhook.observability.metrics import record_guard, record_sent, record_stored
from emailhook.service.send.relay import PublishSend
from emailhook.settings import Settings

#: Explicit task names: the wire format stays stable whatever the module is called.
PROCESS_BODIES = "emailhook.process_bodies"
SEND_MESSAGES = "emailhook.send_messages"


class EmailhookCelery(Celery):
    """The Celery app, holding the services its task and its background threads use."""

    services: WorkerServices
    #: publishes a batch of body ids to the queue (the relay's way out)
    publish: Callable[[list[Any]], None]
    #: publishes a task of outbox message ids to the send queue (the send relay's way out)
    publish_send: PublishSend


def worker_app() -> EmailhookCelery:
    """Return the Celery app of a worker process, its observability configured first."""
    settings = load_settings()
    configure(settings, root=True)
    return create_celery(settings)


def create_celery(settings: Settings | None = None) -> EmailhookCelery:
    """Return the Celery app for ``settings`` (default: this process's environment)."""
    return build_celery(worker_services(settings or load_settings()))


def build_celery(services: WorkerServices) -> EmailhookCelery:
    """Return a Celery app wired to the configured broker, with the task and the relay."""
    settings = services.settings
    # Celery leaves logging to us when someone listens: its --loglevel sets its own lines'
    # level, EMAILHOOK_LOG_LEVEL emailhook's (DEBUG: a line per stored body).
    setup_logging.connect(
        functools.partial(_set_levels, level=settings.log_level),
        weak=False,
        dispatch_uid="emailhook.logs",
    )
    # Before the pool forks and the relay starts: every process and thread inherits it.
    worker_init.connect(
        lambda **_: lower_priority(settings.worker_nice),
        weak=False,
        dispatch_uid="emailhook.nice",
    )
    # The pool's processes answer SIGUSR2 with their threads' stacks, as the main one does
    # (observability.configure): billiard sets its own handler in each child after Celery's
    # process init, so each takes it back before its first task.
    task_prerun.connect(_answer_sigusr2_with_stacks, weak=False, dispatch_uid="emailhook.stacks")
    app = EmailhookCelery("emailhook", set_as_current=False)
    app.conf.update(broker_config(settings))
    app.conf.update(
        task_queues=[Queue(QUEUE, durable=True), Queue(SEND_QUEUE, durable=True)],
        task_default_queue=QUEUE,
        task_routes={SEND_MESSAGES: {"queue": SEND_QUEUE}},
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
    app.services = services
    app.publish = celery_publisher(app, settings.broker_timeout_seconds)
    app.publish_send = celery_publisher(
        app, settings.broker_timeout_seconds, task=SEND_MESSAGES, queue=SEND_QUEUE
    )

    @app.task(name=PROCESS_BODIES)
    def process_bodies(body_ids: list[int]) -> dict[str, object]:
        outcome = services.processor().process(body_ids)
        record_stored(outcome.stored, outcome.duplicates, outcome.latencies, outcome.other_channels)
        for _ in outcome.paused:
            record_guard("platform", "pause")
        return outcome.as_dict()

    @app.task(name=SEND_MESSAGES)
    def send_messages(public_ids: list[str]) -> dict[str, object]:
        done = services.dispatcher().send(public_ids)
        outcome = done.as_dict()
        record_sent(outcome, done.calls)
        return outcome

    app.steps["worker"].add(BackgroundStep)
    return app


_STACKS_PID = [0]


def _answer_sigusr2_with_stacks(**_: Any) -> None:
    if _STACKS_PID[0] != os.getpid():
        answer_sigusr2_with_stacks()
        _STACKS_PID[0] = os.getpid()


def _set_levels(loglevel: int | str | None = None, *, level: str, **_: Any) -> None:
    logging.getLogger().setLevel(loglevel if isinstance(loglevel, int) else logging.INFO)
    logging.getLogger("emailhook").setLevel(level)


def celery_publisher(
    app: Celery, timeout: float, *, task: str = PROCESS_BODIES, queue: str = QUEUE
) -> Callable[[list[Any]], None]:
    """Return a function that publishes one task of ids, failing fast if the broker is down.

    No retries here: a failed publish leaves the bodies (messages) due in the inbox (outbox),
    and the relay's next pass tries again. ``timeout`` bounds the write and RabbitMQ's
    publisher confirm.
    """

    def publish(ids: list[Any]) -> None:
        app.send_task(
            task,
            args=[ids],
            queue=queue,
            retry=False,
            timeout=timeout,
            confirm_timeout=timeout,
        )

    return publish
