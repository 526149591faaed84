"""The Infobip API client against a local Infobip stand-in: paging, auth, retries, pacing,
and a clear error for every way an answer can go wrong."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from emailhook.adapters.infobip.api import InfobipApi, InfobipApiError, infobip_instant
from emailhook.adapters.infobip.rate_limit import Backoff
from emailhook.domain.events import EmailEvent
from emailhook.domain.reconciliation_plan import ReconcileReport, plan_window
from emailhook.providers.infobip.logs import LogSkip, log_event
from support.infobip_api import BLOCKLISTS, DOMAINS, LOGS, SUPPRESSIONS, FakeInfobip

NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)


class FakeTime:
    """A monotonic clock that only sleeping moves: pacing and backoff without waiting."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def infobip() -> Iterator[FakeInfobip]:
    with FakeInfobip() as server:
        yield server


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def api(infobip: FakeInfobip, fake_time: FakeTime) -> Iterator[InfobipApi]:
    with InfobipApi(
        infobip.url, infobip.api_key, clock=fake_time.clock, sleep=fake_time.sleep
    ) as client:
        yield client


def log_item(n: int, sent_at: datetime, group: str = "DELIVERED") -> dict[str, Any]:
    local = sent_at.astimezone(timezone(timedelta(hours=-3)))
    return {
        "sender": "envios@example.com",
        "destination": f"person{n}@example.org",
        "bulkId": "bulk-1",
        "messageId": f"m-{n}",
        # Infobip's own form: milliseconds and an offset without a colon
        "sentAt": local.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + local.strftime("%z"),
        "doneAt": (sent_at + timedelta(seconds=2)).isoformat(timespec="milliseconds"),
        "messageCount": 1,
        "status": {"groupId": 3, "groupName": group, "id": 5, "name": "DELIVERED_TO_HANDSET"},
        "error": {"groupId": 0, "groupName": "OK", "id": 0, "name": "NO_ERROR"},
    }


def sends(count: int, start: datetime = NOW - timedelta(hours=1)) -> list[dict[str, Any]]:
    return [log_item(n, start + timedelta(seconds=n)) for n in range(count)]


# --- logs -----------------------------------------------------------------------------------


def test_logs_are_read_by_cursor_until_none_is_given(infobip: FakeInfobip, api: InfobipApi) -> None:
    infobip.logs = sends(2500)
    pages = list(api.iter_email_log_pages(NOW - timedelta(hours=2)))
    assert [len(page) for page in pages] == [1000, 1000, 500]
    assert [item["messageId"] for page in pages for item in page] == [f"m-{n}" for n in range(2500)]
    first, second, third = infobip.queries[LOGS]
    assert first == {
        "sentSince": infobip_instant(NOW - timedelta(hours=2)),
        "limit": "1000",
        "useCursor": "true",
    }
    assert "cursor" in second
    assert third["cursor"] != second["cursor"]
    assert infobip.last_headers["authorization"] == f"App {infobip.api_key}"


def test_logs_are_filtered_by_send_time_written_as_infobip_reads_it(
    infobip: FakeInfobip, api: InfobipApi
) -> None:
    infobip.logs = sends(10, start=NOW - timedelta(seconds=5))
    since, until = NOW - timedelta(seconds=2), NOW + timedelta(seconds=3)
    got = [item["messageId"] for item in api.iter_email_logs(since, until)]
    assert got == ["m-3", "m-4", "m-5", "m-6", "m-7"]
    assert infobip_instant(since) == "2026-12-01T14:59:58.000+0000"
    assert infobip.queries[LOGS][0]["sentUntil"] == "2026-12-01T15:00:03.000+0000"


def test_an_empty_log_window_is_one_request(infobip: FakeInfobip, api: InfobipApi) -> None:
    assert list(api.iter_email_logs(NOW)) == []
    assert infobip.requests[LOGS] == 1


def test_logs_requests_are_paced_at_120_a_minute(
    infobip: FakeInfobip, api: InfobipApi, fake_time: FakeTime
) -> None:
    infobip.logs = sends(3000)
    assert sum(1 for _ in api.iter_email_logs(NOW - timedelta(hours=2))) == 3000
    assert fake_time.sleeps == [0.5, 0.5]


def test_pacing_holds_against_a_real_clock(infobip: FakeInfobip) -> None:
    infobip.blocklist = [{"destination": f"a{n}@b.com", "channel": "EMAIL"} for n in range(3500)]
    sent: list[float] = []
    with InfobipApi(infobip.url, infobip.api_key, rate_limits={"blocklist": 20.0}) as client:
        # when each request leaves the client: the server's own clock adds its scheduling
        # jitter (tens of ms on a loaded machine), which says nothing of the pacing
        client._http.event_hooks["request"].append(lambda _request: sent.append(time.monotonic()))
        assert sum(1 for _ in client.iter_blocklist()) == 3500
    assert len(infobip.times[BLOCKLISTS]) == len(sent) == 4
    # 20 a second: the k-th request never leaves before k slots of 50 ms after the first (a
    # late wake-up only makes it later; 10 ms for the first's way from its slot to the hook)
    assert all(at - sent[0] >= k * 0.05 - 0.01 for k, at in enumerate(sent)), sent


def test_an_item_without_messageid_is_a_skip_with_a_reason(
    infobip: FakeInfobip, api: InfobipApi
) -> None:
    infobip.logs = [*sends(3), log_item(3, NOW - timedelta(minutes=30), group="PENDING")]
    infobip.fault(LOGS, "missing_message_id")
    window = plan_window(None, NOW)
    report = ReconcileReport(window)
    for page in api.iter_email_log_pages(window.since, window.until):
        report.pages += 1
        for item in page:
            report.logs_read += 1
            result = log_event(item)
            if isinstance(result, LogSkip):
                report.skip(result.reason)
            else:
                assert isinstance(result, EmailEvent)
                report.events_new += 1
    assert (report.pages, report.logs_read, report.events_new) == (1, 4, 2)
    assert dict(report.skipped) == {
        "log item has no messageId": 1,
        "status PENDING is not final": 1,
    }


# --- authentication and errors ----------------------------------------------------------------


def test_a_wrong_key_is_a_401_error_at_once(infobip: FakeInfobip, fake_time: FakeTime) -> None:
    client = InfobipApi(infobip.url, "not-the-key", sleep=fake_time.sleep)
    with client, pytest.raises(InfobipApiError) as caught:
        list(client.iter_email_logs(NOW))
    assert caught.value.status == 401
    assert "not authorized" in caught.value.reason
    assert "Invalid login details" in caught.value.reason
    assert infobip.requests[LOGS] == 1  # not retried
    assert fake_time.sleeps == []


@pytest.mark.parametrize("form", ["infobip", "e429"])
def test_throttled_answers_are_retried_with_backoff(
    infobip: FakeInfobip, api: InfobipApi, fake_time: FakeTime, form: Any
) -> None:
    infobip.logs = sends(5)
    infobip.fail(LOGS, 429, times=2, form=form)
    assert len(list(api.iter_email_logs(NOW - timedelta(hours=2)))) == 5
    assert infobip.requests[LOGS] == 3
    backoffs = [s for s in fake_time.sleeps if s >= 1.0]
    assert backoffs == [1.0, 2.0]


@pytest.mark.parametrize(
    ("form", "reason"),
    [
        ("infobip", "TOO_MANY_REQUESTS: Too many requests"),
        ("e429", "E429: Too many requests sent."),
    ],
)
def test_throttling_that_does_not_stop_is_a_429_error(
    infobip: FakeInfobip, api: InfobipApi, form: Any, reason: str
) -> None:
    infobip.fail(LOGS, 429, times=100, form=form)
    with pytest.raises(InfobipApiError) as caught:
        list(api.iter_email_logs(NOW))
    assert (caught.value.status, caught.value.reason) == (429, reason)
    assert infobip.requests[LOGS] == Backoff().retries + 1


def test_server_errors_are_retried(infobip: FakeInfobip, api: InfobipApi) -> None:
    infobip.domains = [{"domainName": "example.com"}]
    infobip.fail(DOMAINS, 503)
    infobip.fail(DOMAINS, 500)
    assert [d["domainName"] for d in api.iter_suppression_domains()] == ["example.com"]
    assert infobip.requests[DOMAINS] == 3


def test_a_client_error_is_not_retried(infobip: FakeInfobip, api: InfobipApi) -> None:
    infobip.fail(SUPPRESSIONS, 400)
    with pytest.raises(InfobipApiError) as caught:
        list(api.iter_suppressions("example.com", "BOUNCE"))
    assert (caught.value.status, caught.value.reason) == (400, "400: Bad request")
    assert infobip.requests[SUPPRESSIONS] == 1


def test_an_html_error_page_is_a_clear_error(infobip: FakeInfobip, fake_time: FakeTime) -> None:
    infobip.fault(LOGS, "html", times=2)
    no_retry = Backoff(retries=1)
    api = InfobipApi(infobip.url, infobip.api_key, backoff=no_retry, sleep=fake_time.sleep)
    with api, pytest.raises(InfobipApiError) as caught:
        list(api.iter_email_logs(NOW))
    assert caught.value.status == 502
    assert caught.value.reason == "answer is an HTML page, not JSON (text/html)"


def test_one_html_page_is_retried_like_any_502(infobip: FakeInfobip, api: InfobipApi) -> None:
    infobip.logs = sends(1)
    infobip.fault(LOGS, "html")
    assert len(list(api.iter_email_logs(NOW - timedelta(hours=2)))) == 1


def test_truncated_json_is_a_clear_error(infobip: FakeInfobip, api: InfobipApi) -> None:
    infobip.logs = sends(20)
    infobip.fault(LOGS, "truncated")
    with pytest.raises(InfobipApiError) as caught:
        list(api.iter_email_logs(NOW - timedelta(hours=2)))
    assert caught.value.status == 200
    assert caught.value.reason.startswith("answer is not valid JSON (truncated?)")


def test_a_cursor_that_never_ends_stops_at_the_page_bound(
    infobip: FakeInfobip, fake_time: FakeTime
) -> None:
    infobip.logs = sends(3)
    infobip.fault(LOGS, "endless_cursor", times=1000)
    with (
        InfobipApi(
            infobip.url, infobip.api_key, max_pages=5, clock=fake_time.clock, sleep=fake_time.sleep
        ) as api,
        pytest.raises(InfobipApiError, match="cursor still going after 5 pages"),
    ):
        list(api.iter_email_logs(NOW - timedelta(hours=2)))
    assert infobip.requests[LOGS] == 5


def test_a_cursor_that_repeats_is_an_error(infobip: FakeInfobip, api: InfobipApi) -> None:
    infobip.logs = sends(3)
    infobip.fault(LOGS, "repeating_cursor", times=10)
    with pytest.raises(InfobipApiError, match="cursor repeated"):
        list(api.iter_email_logs(NOW - timedelta(hours=2)))
    assert infobip.requests[LOGS] == 2


def test_a_server_that_never_answers_times_out(fake_time: FakeTime) -> None:
    with socket.socket() as listener:  # accepts connections (backlog), never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        timeout = httpx.Timeout(0.2, connect=0.5)
        with (
            InfobipApi(
                url,
                "key",
                timeout=timeout,
                backoff=Backoff(retries=1),
                clock=fake_time.clock,
                sleep=fake_time.sleep,
            ) as api,
            pytest.raises(InfobipApiError) as caught,
        ):
            list(api.iter_email_logs(NOW))
    assert caught.value.status is None
    assert caught.value.reason.startswith("ReadTimeout")
    assert fake_time.sleeps == [1.0]


def test_a_closed_port_is_a_clear_error(fake_time: FakeTime) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}"
    api = InfobipApi(url, "key", backoff=Backoff(retries=0), sleep=fake_time.sleep)
    with api, pytest.raises(InfobipApiError) as caught:
        list(api.iter_suppression_domains())
    assert caught.value.reason.startswith("ConnectError")


def test_the_key_appears_in_no_message_repr_or_log(
    infobip: FakeInfobip, fake_time: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    key = infobip.api_key
    infobip.fail(LOGS, 503, times=100)
    caplog.set_level(logging.DEBUG)
    with InfobipApi(infobip.url, key, sleep=fake_time.sleep) as api:
        assert key not in repr(api)
        with pytest.raises(InfobipApiError) as caught:
            list(api.iter_email_logs(NOW))
    assert key not in str(caught.value)
    assert caplog.records  # the retries were logged ...
    assert all(key not in record.getMessage() for record in caplog.records)  # ... keyless


# --- suppressions and blocklist ---------------------------------------------------------------


@pytest.mark.parametrize(("count", "requests"), [(0, 1), (99, 1), (100, 2), (250, 3)])
def test_domains_are_paged_until_a_short_page(
    infobip: FakeInfobip, api: InfobipApi, count: int, requests: int
) -> None:
    infobip.domains = [{"domainName": f"d{n}.example.com"} for n in range(count)]
    assert len(list(api.iter_suppression_domains())) == count
    assert infobip.requests[DOMAINS] == requests


def test_suppressions_of_one_domain_and_type_are_paged(
    infobip: FakeInfobip, api: InfobipApi
) -> None:
    entries = [{"emailAddress": f"a{n}@x.org", "type": "BOUNCE"} for n in range(2500)]
    infobip.suppressions[("example.com", "BOUNCE")] = entries
    infobip.suppressions[("example.com", "COMPLAINT")] = [{"emailAddress": "c@x.org"}]
    assert list(api.iter_suppressions("example.com", "BOUNCE")) == entries
    assert [q["page"] for q in infobip.queries[SUPPRESSIONS]] == ["0", "1", "2"]
    assert {q["domainName"] for q in infobip.queries[SUPPRESSIONS]} == {"example.com"}
    assert {q["size"] for q in infobip.queries[SUPPRESSIONS]} == {"1000"}


def test_the_blocklist_is_paged_by_total_pages_one_request_a_second(
    infobip: FakeInfobip, api: InfobipApi, fake_time: FakeTime
) -> None:
    emails = [{"destination": f"a{n}@x.org", "channel": "EMAIL"} for n in range(2001)]
    infobip.blocklist = [*emails, {"destination": "41793026727", "channel": "SMS"}]
    assert list(api.iter_blocklist()) == emails
    assert [q["page"] for q in infobip.queries[BLOCKLISTS]] == ["0", "1", "2"]
    assert {q["channel"] for q in infobip.queries[BLOCKLISTS]} == {"EMAIL"}
    assert fake_time.sleeps == [1.0, 1.0]


def test_added_suppressions_are_split_into_entries_and_requests(
    infobip: FakeInfobip, api: InfobipApi
) -> None:
    emails = [f"a{n}@x.org" for n in range(10_500)]
    assert api.add_suppressions("example.com", "BOUNCE", [*emails, emails[0]]) == 2
    (m1, first), (m2, second) = infobip.received
    assert (m1, m2) == ("POST", "POST")
    assert [len(e["emailAddress"]) for e in first["suppressions"]] == [1000] * 10
    assert [len(e["emailAddress"]) for e in second["suppressions"]] == [500]
    sent = [a for body in (first, second) for e in body["suppressions"] for a in e["emailAddress"]]
    assert sent == emails
    assert {e["type"] for e in first["suppressions"]} == {"BOUNCE"}


def test_over_quota_cannot_be_added_but_can_be_removed(
    infobip: FakeInfobip, api: InfobipApi
) -> None:
    with pytest.raises(ValueError, match="BOUNCE and COMPLAINT"):
        api.add_suppressions("example.com", "OVER_QUOTA", ["a@x.org"])
    assert infobip.requests[SUPPRESSIONS] == 0
    assert api.remove_suppressions("example.com", "OVER_QUOTA", ["a@x.org"]) == 1
    [(method, body)] = infobip.received
    assert method == "DELETE"
    assert body == {
        "suppressions": [
            {"domainName": "example.com", "emailAddress": ["a@x.org"], "type": "OVER_QUOTA"}
        ]
    }


def test_nothing_to_add_sends_nothing(infobip: FakeInfobip, api: InfobipApi) -> None:
    assert api.add_suppressions("example.com", "COMPLAINT", []) == 0
    assert infobip.requests[SUPPRESSIONS] == 0
