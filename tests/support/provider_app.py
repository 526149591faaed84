"""The real Flask app and a worker's processor on one database, every provider enabled: what
the provider tests post through and read back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from emailhook import create_app
from emailhook.adapters.db.models import EmailCallback
from emailhook.composition.processing import parsers
from emailhook.service.receive.processing import Processor
from emailhook.settings import Settings
from support.policies import retry, soft_bounces
from support.provider_posts import Post, Senders

#: samples that are not a provider's event webhook at all (Mailgun's inbound-route sample)
NOT_WEBHOOKS = {("mailgun", "legacy_misconfigured_inbound")}


class App:
    """A web app and a worker's processor on one database, with every provider enabled."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.flask: Flask = create_app(settings)
        self.client = self.flask.test_client()
        self.database = self.flask.extensions["emailhook"].database
        # the worker's processor, with the worker's parsers, on the app's database engine
        self.processor = Processor(
            self.database.sessions, retry(), soft_bounces=soft_bounces(), parsers=parsers(settings)
        )

    def close(self) -> None:
        services = self.flask.extensions["emailhook"]
        services.database.engine.dispose()
        services.reads.engine.dispose()

    def send(self, post: Post) -> Any:
        return self.client.post(post.path, data=post.body, headers=post.headers)

    def store(self, post: Post) -> int:
        """Post, expect 200, store the body's events; return its inbox id."""
        answer = self.send(post)
        assert answer.status_code == 200, answer.get_json()
        body_id = int(answer.get_json()["id"])
        outcome = self.processor.process([body_id])
        assert outcome.done == [body_id]
        return body_id

    def rows(self, body_id: int) -> list[tuple[Any, ...]]:
        with self.database.sessions() as session:
            found = session.execute(
                select(
                    EmailCallback.provider,
                    EmailCallback.event_type,
                    EmailCallback.bounce_class,
                    EmailCallback.reject_reason,
                    EmailCallback.email,
                    EmailCallback.id_externo,
                    EmailCallback.qj_contact_id,
                ).where(EmailCallback.inbox_id == body_id)
            )
            return sorted((tuple(row) for row in found), key=lambda r: (r[4], r[1]))

    def count(self, model: Any = EmailCallback) -> int:
        with self.database.sessions() as session:
            return int(session.execute(select(func.count(model.id))).scalar_one())


def _app(tmp_path: Path, senders: Senders, **settings: Any) -> App:
    # web_lock_timeout_seconds: these tests are about what is stored, not how fast; the 1 s
    # bound answered 503 once in a full parallel run (CI, beside a fault-suite ledger)
    values = {
        "data_dir": tmp_path,
        "sqlite_synchronous": "NORMAL",
        "intake": "database",
        "web_lock_timeout_seconds": 10.0,
    }
    return App(Settings(**{**values, **senders.settings(), **settings}))
