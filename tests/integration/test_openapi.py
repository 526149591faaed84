"""The OpenAPI document against the running app: schemathesis fuzzes every operation.

No 5xx for anything it sends, and every response matches the documented status codes,
content types and schemas. The database is seeded through ``POST /email`` first.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from emailhook import create_app
from emailhook.domain.email_status import EmailStatus
from emailhook.domain.statuses import EVENT_STATUSES
from emailhook.domain.suppression import SuppressionReason
from emailhook.domain.vocabulary import BounceClass, EventType, RejectReason
from emailhook.entrypoints.web.ops import OPENAPI
from emailhook.providers.registry import PROVIDERS
from emailhook.service.receive.processing import Processor
from emailhook.settings import Settings
from support.policies import retry, soft_bounces
from support.services import POSTGRES_URL, fresh_postgres_database, reachable, require
from support.spool import post_bodies

#: what every generated request must satisfy
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@schemathesis.serializer("application/x-ndjson")
def _json_lines(_ctx: object, value: object) -> bytes:
    """``POST /campaigns``' body (JSON Lines): a generated string as it is, anything else as
    one line of JSON."""
    return (value if isinstance(value, str) else json.dumps(value)).encode()


#: every operation with valid input, and those that take input with invalid input too
CASES = [
    (path, method, mode)
    for path, item in OPENAPI["paths"].items()
    for method, operation in item.items()
    for mode in GenerationMode
    if mode is GenerationMode.POSITIVE or {"parameters", "requestBody"} & set(operation)
]


@pytest.fixture(scope="module")
def seeded_apps(
    tmp_path_factory: pytest.TempPathFactory, seed_bodies: dict[str, bytes]
) -> Iterator[dict[str, Flask]]:
    """The app on SQLite and, where it runs, on PostgreSQL, each seeded. Every generated
    request goes to each: generating the requests is most of this module's time (schemathesis
    and hypothesis), so each is made once and both databases answer it."""
    with contextlib.ExitStack() as stack:
        sqlite_dir = tmp_path_factory.mktemp("openapi-sqlite")
        apps = {"sqlite": _seeded(Settings(data_dir=sqlite_dir), seed_bodies)}
        if reachable("postgres", POSTGRES_URL):
            url = stack.enter_context(fresh_postgres_database(migrated=True))
            postgres_dir = tmp_path_factory.mktemp("openapi-postgres")
            apps["postgres"] = _seeded(
                Settings(data_dir=postgres_dir, database_url=url), seed_bodies
            )
        for app in apps.values():
            stack.callback(app.extensions["emailhook"].database.engine.dispose)
            stack.callback(app.extensions["emailhook"].reads.engine.dispose)
        yield apps


def _seeded(app_settings: Settings, seed_bodies: dict[str, bytes]) -> Flask:
    app = create_app(app_settings)
    ids = post_bodies(app, list(seed_bodies.values()))
    Processor(
        app.extensions["emailhook"].database.sessions, retry(), soft_bounces=soft_bounces()
    ).process(ids)
    return app


def test_the_operations_are_fuzzed_on_postgresql_too(seeded_apps: dict[str, Flask]) -> None:
    if "postgres" not in seeded_apps:
        require("postgres", POSTGRES_URL)  # skips saying why (fails where it is required)
    assert set(seeded_apps) == {"sqlite", "postgres"}


@pytest.mark.parametrize(("path", "method", "mode"), CASES)
def test_every_operation_answers_without_5xx_and_as_documented(
    seeded_apps: dict[str, Flask], path: str, method: str, mode: GenerationMode
) -> None:
    schema = schemathesis.openapi.from_wsgi("/openapi.json", seeded_apps["sqlite"])
    operation = schema[path][method.upper()]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=30, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    def answers_as_documented(case: schemathesis.Case) -> None:
        for app in seeded_apps.values():
            case.call_and_validate(checks=CHECKS, app=app)

    answers_as_documented()


@pytest.mark.parametrize("contact", [3, 310372388])
def test_a_seeded_contact_answers_as_documented(
    seeded_apps: dict[str, Flask], contact: int
) -> None:
    schema = schemathesis.openapi.from_wsgi("/openapi.json", seeded_apps["sqlite"])
    operation = schema["/contacts/{qj_contact_id}"]["GET"]

    @given(case=operation.as_strategy(path_parameters={"qj_contact_id": contact}))
    @settings(max_examples=3, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def answers_as_documented(case: schemathesis.Case) -> None:
        for app in seeded_apps.values():
            response = case.call_and_validate(checks=CHECKS, app=app)
            assert response.status_code == 200

    answers_as_documented()


def test_document_enums_are_the_domain_vocabularies() -> None:
    schemas = OPENAPI["components"]["schemas"]
    assert schemas["EventStatus"]["enum"] == list(EVENT_STATUSES)
    assert schemas["EmailStatus"]["enum"] == [s.value for s in EmailStatus]
    assert schemas["SuppressionReason"]["enum"] == [r.value for r in SuppressionReason]
    assert schemas["Provider"]["enum"] == [p.name for p in PROVIDERS]
    assert schemas["EventType"]["enum"] == [t.value for t in EventType]
    assert schemas["BounceClass"]["enum"] == [*(c.value for c in BounceClass), None]
    assert schemas["RejectReason"]["enum"] == [*(r.value for r in RejectReason), None]


def test_document_covers_every_route_of_the_app(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path))
    routes = {
        re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in ("static", "docs.show")
    }
    assert routes == set(OPENAPI["paths"]) - {"/docs/"}
    assert "/docs/" in {rule.rule for rule in app.url_map.iter_rules()}
