"""The dashboard against a real database: the rollup the worker keeps, and the pages."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import orjson
import pytest
from alembic import command
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select, text

from emailhook import create_app
from emailhook.adapters.db.models import EventRollup
from emailhook.adapters.db.schema import alembic_config, upgrade
from emailhook.adapters.store import rollup
from emailhook.service.receive.processing import Processor
from emailhook.settings import Settings
from support.dashboard_data import LONG_CAMPAIGN, campaign_bodies
from support.message_oracle import (
    event_type_counts,
    expected_rates,
    messages_by_provider,
    total,
)
from support.operators import OPERATOR, credentials
from support.policies import retry, soft_bounces
from support.services import fresh_postgres_database
from support.spool import post_bodies


def _seed(app: Flask, bodies: list[bytes]) -> None:
    ids = post_bodies(app, bodies)
    Processor(
        app.extensions["emailhook"].database.sessions, retry(), soft_bounces=soft_bounces()
    ).process(ids)


def _bodies(seed_bodies: dict[str, bytes]) -> list[bytes]:
    return [*seed_bodies.values(), *(orjson.dumps(b) for b in campaign_bodies())]


@pytest.fixture(params=["sqlite", "postgres"])
def app(
    request: pytest.FixtureRequest, tmp_path: Path, seed_bodies: dict[str, bytes]
) -> Iterator[Flask]:
    if request.param == "sqlite":
        made = create_app(Settings(data_dir=tmp_path))
        _seed(made, _bodies(seed_bodies))
        yield made
        return
    with fresh_postgres_database(migrated=True) as url:
        made = create_app(Settings(data_dir=tmp_path, database_url=url))
        _seed(made, _bodies(seed_bodies))
        yield made
        made.extensions["emailhook"].database.engine.dispose()
        made.extensions["emailhook"].reads.engine.dispose()


def engine_of(app: Flask) -> Engine:
    engine: Engine = app.extensions["emailhook"].database.engine
    return engine


def rollup_rows(engine: Engine) -> Counter[tuple[str, str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT status, campaign, creditor_name, events FROM event_rollup")
        ).all()
    found: Counter[tuple[str, str, str]] = Counter()
    for status, campaign, creditor, n in rows:
        found[(status, campaign, creditor)] += n
    return found


def hour_keys(engine: Engine) -> set[datetime]:
    with engine.connect() as conn:
        return set(conn.execute(select(EventRollup.bucket_hour)).scalars())


def grouped_events(engine: Engine) -> Counter[tuple[str, str, str]]:
    """What the rollup must equal: email_callback grouped the same way (cut to 200)."""
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT status, campaign, creditor_name FROM email_callback")
        ).all()
    return Counter(((s or "")[:200], (c or "")[:200], (n or "")[:200]) for s, c, n in rows)


def test_the_worker_keeps_the_rollup_equal_to_the_events_and_never_counts_twice(
    app: Flask, seed_bodies: dict[str, bytes]
) -> None:
    engine = engine_of(app)
    expected = grouped_events(engine)
    assert rollup_rows(engine) == expected
    assert sum(expected.values()) == 12 + 11
    assert expected[("UNDELIVERABLE", "boas-vindas", "Loja Verde")] == 2
    assert expected[("DELIVERED", "c" * 200, "X")] == 1
    _seed(app, _bodies(seed_bodies))  # everything again: all duplicates
    assert rollup_rows(engine) == expected
    with engine.connect() as conn:
        hours = conn.execute(text("SELECT DISTINCT bucket_hour FROM event_rollup")).scalars().all()
    assert len(hours) in (1, 2)  # received now: this hour (or the next, at the turn)


def test_rebuild_and_the_migration_backfill_give_the_same_rollup(app: Flask) -> None:
    engine = engine_of(app)
    expected, hours_before = rollup_rows(engine), hour_keys(engine)
    assert all(h.minute == h.second == h.microsecond == 0 for h in hours_before)
    with app.extensions["emailhook"].database.sessions.begin() as session:
        assert rollup.rebuild(session) == 23
    assert rollup_rows(engine) == expected
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0002")
    upgrade(engine)  # 0003 fills the rollup from the stored events
    assert rollup_rows(engine) == expected
    assert hour_keys(engine) == hours_before  # the same hours, read back as the worker wrote them


def page(client: FlaskClient, url: str, **headers: str) -> str:
    response = client.get(url, headers=headers)
    assert response.status_code == 200, response.data[:300]
    assert response.content_type.startswith("text/html")
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    return response.get_data(as_text=True)


def chart_counts(html: str) -> Counter[str]:
    """Sum the bars of the overview's SVG by status."""
    found: Counter[str] = Counter()
    for label, value in re.findall(
        r'<desc class="label">([^<]+)</desc><rect[^>]*/><desc class="value">(\d+)</desc>', html
    ):
        found[label] += int(value)
    return found


def table_counts(html: str) -> Counter[str]:
    rows = re.findall(r'<tr data-event-type="([^"]+)">.*?<td class="num">(\d+)</td>', html, re.S)
    return Counter({event_type: int(n) for event_type, n in rows})


def test_overview_chart_and_rates_show_what_was_posted(
    app: Flask, seed_bodies: dict[str, bytes]
) -> None:
    client = app.test_client()
    posted = event_type_counts(engine_of(app))
    assert sum(posted.values()) == 12 + 11
    for url in ("/", "/?range=24h", "/?range=30d", "/?range=24h&bucket=day"):
        assert chart_counts(page(client, url)) == posted, url
        assert table_counts(page(client, url)) == posted, url
    area = page(client, "/?range=30d&bucket=hour")  # 720 hours: an area, numbers in the table
    assert chart_counts(area) == Counter()
    assert "an area" in area
    assert table_counts(area) == posted
    html = page(client, "/?range=24h")
    # the rates of messages, every provider's alike (before: of Infobip's statuses' events)
    rates = expected_rates(total(messages_by_provider(engine_of(app))))
    assert rates["delivery"] is not None
    assert rates["open"] is not None
    for name, value in rates.items():
        shown = "\u2013" if value is None else f"{value * 100:.1f} %"
        assert re.search(rf'data-rate="{name}">.*?{re.escape(shown)}', html, re.S), name
    # the provider's own names are the detail behind each event type
    assert re.search(r'<li data-provider="infobip">.*?DELIVERED \d+', html)
    assert "data_recebimento" in html
    assert "no event time" in html
    empty = page(client, "/?since=2000-01-01T00:00Z&until=2000-01-02T00:00Z&bucket=hour")
    assert chart_counts(empty) == Counter()
    assert "no events in this range" in empty


@pytest.mark.parametrize(
    "query",
    [
        "range=1y",
        "bucket=week",
        "since=yesterday",
        "since=2026-01-02T00:00Z&until=2026-01-01T00:00Z",
        "since=2000-01-01T00:00Z&bucket=hour",
        "since=9999-12-30T00:00Z&until=9999-12-31T23:30Z",
    ],
)
def test_a_range_that_cannot_be_shown_is_a_400(app: Flask, query: str) -> None:
    response = app.test_client().get(f"/?{query}")
    assert response.status_code == 400
    assert response.json["error"] == "invalid_query"  # type: ignore[index]


def test_campaigns_sort_the_worst_bouncer_first(app: Flask) -> None:
    client = app.test_client()
    html = page(client, "/dashboard/campaigns?range=24h")
    names = re.findall(r'<tr data-name="([^"]*)">', html)
    # seed bodies bounce all they send (100 %); then 2 of 3, 1 of 4, none of 5
    assert names.index("boas-vindas") < names.index("renegocia") < names.index("aquecimento")
    bounces = re.findall(r'data-rate="bounce">([\d.]+) %', html)
    assert [float(b) for b in bounces] == sorted((float(b) for b in bounces), reverse=True)
    ascending = re.findall(
        r'<tr data-name="([^"]*)">',
        page(client, "/dashboard/campaigns?range=24h&sort=bounce&dir=asc"),
    )
    assert ascending.index("aquecimento") < ascending.index("boas-vindas")
    both = page(client, "/dashboard/campaigns?range=24h&by=campaign_creditor&sort=name&dir=asc")
    assert 'data-name="renegocia / Banco Azul"' in both
    assert f'data-name="{"c" * 200} / X"' in both
    assert LONG_CAMPAIGN not in both
    creditors = page(client, "/dashboard/campaigns?range=24h&by=creditor&sort=open")
    order = re.findall(r'<tr data-name="([^"]*)">', creditors)
    assert order.index("Banco Azul") < order.index("Loja Verde")  # 2 opens of 3; none of 1


def test_events_contact_suppressions_and_pipeline_pages(app: Flask) -> None:
    client = app.test_client()
    complained = page(client, "/dashboard/events?status=COMPLAINED&email=&qj_contact_id=")
    assert complained.count('class="event"') == 1
    assert "john.doe@some-domain.com" in complained
    assert "<details><summary>raw event</summary>" in complained
    by_email = page(client, "/dashboard/events?email=ANA@example.com")
    assert by_email.count('class="event"') == 3
    contact = page(client, "/dashboard/contact?q=3")
    assert re.search(r'class="derived-status"><span[^>]*>HARD_BOUNCE<', contact)
    # the last event in the vocabulary, the provider's own word on hover
    assert re.search(r'class="last-event"><span title="infobip: [A-Z_]+">[a-z]+', contact)
    assert contact.count("<li data-status=") == 6
    by_address = page(client, "/dashboard/contact?q=duda@example.com")
    assert "HARD_BOUNCE" in by_address
    assert by_address.count("<li data-status=") == 1
    assert "No events stored" in page(client, "/dashboard/contact?q=999999")
    assert client.get("/dashboard/contact?q=nobody").status_code == 400
    suppressions = page(client, "/dashboard/suppressions")
    assert 'href="/suppressions?format=csv"' in suppressions
    assert 'data-email="duda@example.com"' in suppressions
    pipeline = page(client, "/dashboard/pipeline")
    assert re.search(r'data-count="events">.*?>23<', pipeline, re.S)
    assert re.search(r'data-count="dead">.*?>0<', pipeline, re.S)


DASHBOARD_URLS = [
    "/",
    "/dashboard/campaigns",
    "/dashboard/events",
    "/dashboard/contact",
    "/dashboard/suppressions",
    "/dashboard/pipeline",
    "/dashboard/messages",
]


@pytest.mark.parametrize("url", DASHBOARD_URLS)
def test_with_operators_every_page_asks_for_credentials(tmp_path: Path, url: str) -> None:
    client = create_app(Settings(data_dir=tmp_path, operator_users=OPERATOR)).test_client()
    for headers in ({}, credentials("ana:wrong")):
        refused = client.get(url, headers=headers)
        assert refused.status_code == 401
        assert refused.headers["WWW-Authenticate"].startswith('Basic realm="emailhook dashboard"')
    assert client.post("/dashboard/replay/1").status_code == 401
    html = page(client, url, **credentials(OPERATOR))
    assert 'id="open-banner"' not in html
    assert client.get("/healthz").status_code == 200  # the rest of the app is as it was
    assert client.post("/email", data=b"{}").status_code == 200


def test_without_operators_pages_carry_a_banner_and_production_turns_them_off(
    tmp_path: Path,
) -> None:
    open_client = create_app(Settings(data_dir=tmp_path)).test_client()
    assert 'id="open-banner"' in page(open_client, "/")
    production = create_app(
        Settings(data_dir=tmp_path, env="production", webhook_tokens="t0k3n-long-enough")
    ).test_client()
    for url in DASHBOARD_URLS:
        response = production.get(url)
        assert response.status_code == 404
        assert "EMAILHOOK_OPERATOR_USERS" in response.json["message"]  # type: ignore[index]


def _dead_body(app: Flask) -> int:
    """A body that failed for good: as the worker leaves it after its last attempt."""
    (body_id,) = post_bodies(app, [b'{"results": []}'])
    with engine_of(app).begin() as conn:
        conn.execute(
            text("UPDATE inbox_body SET state = 'dead', last_error = 'boom' WHERE id = :id"),
            {"id": body_id},
        )
    return body_id


def test_replay_needs_credentials_and_the_dashboard_as_origin(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path, operator_users=OPERATOR))
    client = app.test_client()
    body_id = _dead_body(app)
    auth = credentials(OPERATOR)
    pipeline = page(client, "/dashboard/pipeline", **auth)
    assert f'action="/dashboard/replay/{body_id}"' in pipeline
    assert "boom" in pipeline
    url = f"/dashboard/replay/{body_id}"
    assert client.post(url, headers={"Origin": "http://localhost"}).status_code == 401
    for foreign in ({}, {"Origin": "https://evil.example"}, {"Referer": "https://evil.example/"}):
        assert client.post(url, headers={**auth, **foreign}).status_code == 403
    assert client.get(url, headers=auth).status_code == 405
    done = client.post(url, headers={**auth, "Origin": "http://localhost"})
    assert done.status_code == 303
    assert done.headers["Location"].endswith(f"/dashboard/pipeline?replayed={body_id}")
    with engine_of(app).connect() as conn:
        state = conn.execute(
            text("SELECT state, attempts FROM inbox_body WHERE id = :id"), {"id": body_id}
        ).one()
    assert tuple(state) == ("pending", 0)
    again = client.post(url, headers={**auth, "Referer": "http://localhost/dashboard/pipeline"})
    assert again.status_code == 404  # no longer dead
