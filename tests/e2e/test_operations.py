"""End to end: health, readiness, metrics, documentation and log lines of the real processes."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import SEED_EVENTS
from support.http_calls import http_get
from support.stack import Stack, wait_until

pytestmark = pytest.mark.e2e


def get(stack: Stack, path: str, **kwargs: Any) -> httpx.Response:
    return http_get(f"{stack.base_url}{path}", timeout=10, **kwargs)


def scrape(stack: Stack) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = get(stack, "/metrics")
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def test_health_readiness_and_documentation_are_served(stack: Stack) -> None:
    assert get(stack, "/healthz").json() == {"status": "ok"}
    ready = get(stack, "/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"database": "ok", "broker": "ok"}}
    document = get(stack, "/openapi.json").json()
    assert document["openapi"] == "3.1.0"
    assert {"/email", "/email-callbacks", "/contacts/{qj_contact_id}", "/suppressions"} <= set(
        document["paths"]
    )
    page = get(stack, "/docs/")
    assert page.status_code == 200
    assert "swagger-ui-bundle.js" in page.text
    assert get(stack, "/docs/swagger-ui-bundle.js").status_code == 200  # served locally


def test_metrics_add_up_web_and_worker_processes(
    stack: Stack, seed_bodies: dict[str, bytes]
) -> None:
    before = scrape(stack)
    for body in seed_bodies.values():
        assert stack.post(body).status_code == 200
    stack.wait_for_events(SEED_EVENTS)
    assert stack.post(seed_bodies["opened"]).status_code == 200
    assert stack.post(b"not json").status_code == 400
    stack.wait_until_drained()

    def delta(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return scrape(stack).get(key, 0.0) - before.get(key, 0.0)

    assert delta("emailhook_bodies_received_total") == 10
    assert delta("emailhook_bodies_accepted_total", shape="tracking_event") == 5
    assert delta("emailhook_bodies_rejected_total", reason="invalid_body") == 1
    wait_until(lambda: delta("emailhook_events_stored_total") == SEED_EVENTS, 10, "stored count")
    assert delta("emailhook_events_duplicate_total") == 1
    assert delta("emailhook_processing_latency_seconds_count") == 9
    after = scrape(stack)
    assert after[("emailhook_backlog_bodies", ())] == 0
    assert after[("emailhook_spool_unmoved_bytes", ())] == 0
    assert after[("emailhook_spool_files", ())] >= 1  # the web process's own, kept open
    assert after[("emailhook_dead_letter_bodies", ())] == 0


def test_request_id_reaches_the_worker_log_lines_and_addresses_are_masked(
    stack: Stack, seed_bodies: dict[str, bytes]
) -> None:
    response = stack.post(seed_bodies["undeliverable"], headers={"X-Request-Id": "e2e-trace-1"})
    assert response.headers["X-Request-Id"] == "e2e-trace-1"
    generated = stack.post(seed_bodies["opened"]).headers["X-Request-Id"]
    assert len(generated) == 32
    stack.wait_until_drained()
    assert stack.scalar("SELECT request_id FROM inbox_body ORDER BY id LIMIT 1") == "e2e-trace-1"

    def worker_lines() -> list[dict[str, Any]]:
        output = stack.processes["worker"].output()
        return [json.loads(line) for line in output.splitlines() if line.startswith("{")]

    wait_until(
        lambda: any(line["request_id"] == generated for line in worker_lines()), 10, "log line"
    )
    (stored,) = [line for line in worker_lines() if line["request_id"] == "e2e-trace-1"]
    assert stored["logger"] == "emailhook.processing"
    assert stored["message"].startswith("stored body")
    web_lines = stack.processes["web"].output()
    assert '"request_id": "e2e-trace-1"' in web_lines
    for output in (web_lines, stack.processes["worker"].output()):
        assert "joao.madero@" not in output
