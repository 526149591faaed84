"""emailhook on five machines (two web, two worker, one database) while links and servers fail.

Each scenario posts 3,000 unique delivery reports through both web hosts, as Infobip would
(every answer other than 200 retried later), breaks something mid-run, and checks the ledger:
the events answered 200 are exactly the events stored, none twice, and no accepted body was
moved from a spool into the inbox twice. Both worker hosts run their relays all along.
"""

from __future__ import annotations

import re
import shutil
import socket
import time
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, text

from support.cluster import Cluster
from support.hosts import Shaper
from support.ledger import HOSTS_PUBLISHED, assert_exactly_once, assert_moved_once, stored_events
from support.netns import call_in
from support.sender import Sender, delivery_reports

# one worker runs every scenario on the module's one cluster (pytest-xdist's loadgroup)
pytestmark = [pytest.mark.multihost, pytest.mark.xdist_group("multihost")]

REPORTS = 3000


def send(
    cluster: Cluster, *, duration: float = 15.0, hosts: tuple[str, ...] = ("web1", "web2")
) -> Sender:
    bodies = delivery_reports(REPORTS, uuid.uuid4().hex[:8])
    return Sender(cluster.net.ns("lg"), cluster.post_urls(hosts), bodies, duration=duration).start()


def settle(
    cluster: Cluster, sender: Sender, scenario: str, folders: list[Path], note: str = ""
) -> None:
    """Wait for the load and the backlog to end, publish the ledger line, check it."""
    ledger = sender.join()
    cluster.wait_drained(folders)
    stored = cluster.call(stored_events, cluster.engine)
    # A body answered last (after a dozen retries towards the lost host) can reach the inbox
    # just after the drained check: it is kept, pending, and stored a moment later. Wait for
    # every answered event to be stored (or the deadline) before the ledger judges.
    deadline = time.monotonic() + 30
    while ledger.answered - stored.keys() and time.monotonic() < deadline:
        time.sleep(0.5)
        cluster.wait_drained(folders)
        stored = cluster.call(stored_events, cluster.engine)
    inbox = cluster.inbox_request_ids()
    twice = cluster.scalar("SELECT count(*) FROM inbox_body WHERE deliveries > 1")
    HOSTS_PUBLISHED.append(
        f"{scenario}: {ledger.summary()} stored={sum(stored.values())}"
        f" inbox={sum(inbox.values())} published_more_than_once={twice}"
        + (f" {note}" if note else "")
    )
    assert len(ledger.answered) == REPORTS, f"not every report was answered 200: {ledger.summary()}"
    try:
        assert_exactly_once(ledger, stored)
    except AssertionError as error:  # say where each missing event's bodies stand
        missing = sorted(ledger.answered - stored.keys())[:5]
        raise AssertionError(
            f"{error}\n{cluster.call(_bodies_of, cluster.engine, missing)}"
        ) from None
    assert_moved_once(sender.answered_ids, inbox)


def _bodies_of(engine: Engine, events: list[str]) -> list[dict[str, object]]:
    """The inbox rows of the attempts of ``events`` (request ids ``<messageId>.<attempt>``)."""
    found: list[dict[str, object]] = []
    with engine.connect() as conn:
        for event in events:
            rows = conn.execute(
                text(
                    "SELECT id, request_id, state, attempts, deliveries, stored_events,"
                    " rejected_items, other_items, last_error FROM inbox_body"
                    " WHERE request_id LIKE :prefix"
                ),
                {"prefix": event.removeprefix("r:") + "%"},
            )
            found += [dict(row._mapping) for row in rows] or [{"event": event, "inbox": "none"}]
    return found


def spools(cluster: Cluster, *hosts: str) -> list[Path]:
    return [cluster.folder(host, "spool") for host in hosts]


def test_both_relays_publish_at_once_and_nothing_is_stored_twice(scenario: Cluster) -> None:
    """Two relays claim due bodies with SKIP LOCKED, so each publish is one relay's; a body is
    published again only when it is not stored within the redelivery time (3 s here), by
    whichever relay claims it then. A second delivery stores nothing: email_callback.event_key
    is unique and inserts skip existing keys. The count is in every scenario's ledger line."""
    sender = send(scenario)
    settle(scenario, sender, "both-relays", spools(scenario, "web1", "web2"))
    logs = {host: scenario.processes[host].output() for host in ("w1", "w2")}
    tasks = {host: task_totals(log) for host, log in logs.items()}
    HOSTS_PUBLISHED[-1] += f" by_worker_host={tasks}"
    assert all("relay started" in log for log in logs.values()), "a worker ran no relay"
    # Each web host's /metrics adds up its own processes (its own multiprocess folder):
    # what it counted accepted is what it answered 200, and the hosts add up to the load.
    for host, url in zip(("web1", "web2"), scenario.post_urls(), strict=True):
        page = scenario.call(httpx.get, f"{scenario.web_url(host)}/metrics").text
        assert accepted(page) == sender.by_host[url]["200"], f"{host}: {sender.by_host[url]}"
    assert all(totals["stored"] for totals in tasks.values()), f"a host stored nothing: {tasks}"


def accepted(page: str) -> int:
    """``emailhook_bodies_accepted_total`` of a /metrics page, every shape added up."""
    values = re.findall(r"^emailhook_bodies_accepted_total\{[^}]*\} ([\d.e+]+)$", page, re.M)
    return int(sum(float(value) for value in values))


def task_totals(log: str) -> dict[str, int]:
    """Events stored, and skipped as already stored, by one worker (Celery's task lines)."""
    found = re.findall(r"succeeded in [\d.e-]+s: \{'stored': (\d+), 'duplicates': (\d+)", log)
    return {
        "stored": sum(int(stored) for stored, _ in found),
        "duplicates": sum(int(duplicates) for _, duplicates in found),
    }


def test_a_worker_host_cut_off_mid_run_loses_and_doubles_nothing(scenario: Cluster) -> None:
    sender = send(scenario)
    sender.wait_answered(600)
    before = scenario.scalar("SELECT count(*) FROM email_callback")
    scenario.net.link("w1").down()  # from the database and the broker alike
    try:
        time.sleep(10)
        during = scenario.scalar("SELECT count(*) FROM email_callback") - before
    finally:
        scenario.net.link("w1").up()
    settle(
        scenario,
        sender,
        "worker-host-cut-10s",
        spools(scenario, "web1", "web2"),
        f"stored_while_cut={during}",
    )
    assert during > 0, "w2 stored nothing while w1 was cut off"


def test_a_web_host_cut_off_from_the_database_answers_from_its_spool(scenario: Cluster) -> None:
    sender = send(scenario)
    sender.wait_answered(600)
    web1 = sender.by_host[scenario.post_urls(("web1",))[0]]
    answered_before = web1["200"]
    scenario.net.link("web1", "back").down()
    try:
        time.sleep(10)
        answered_while_cut = web1["200"] - answered_before
        held = scenario.unmoved(spools(scenario, "web1"))
    finally:
        scenario.net.link("web1", "back").up()
    settle(
        scenario,
        sender,
        "web-host-cut-from-db-10s",
        spools(scenario, "web1", "web2"),
        f"web1_200_while_cut={answered_while_cut} web1_spool_bytes_held={held}",
    )
    assert answered_while_cut > 100, "web1 did not keep answering while cut off"
    assert held > 0, "web1's spool held nothing back: was it cut off at all?"


def test_a_web_host_lost_for_good_is_recovered_from_a_copy_of_its_spool(
    scenario: Cluster,
) -> None:
    sender = send(scenario)
    sender.wait_answered(600)
    # Cut off first, so that its disk holds bodies answered 200 and in no database, then lost.
    scenario.net.link("web1", "back").down()
    time.sleep(4)
    scenario.kill("web1")
    scenario.net.link("web1", "back").up()  # the host stays dead: nothing of it runs
    lost = scenario.folder("web1", "spool")
    held = scenario.unmoved([lost])
    carried = scenario.scenario_dir / "web2" / "carried-web1-spool"
    shutil.copytree(lost, carried)
    runs = [recover(scenario, carried, f"recover{n}") for n in (1, 2)]
    settle(
        scenario,
        sender,
        "web-host-lost-recovered",
        [*spools(scenario, "web2"), carried],
        f"held_on_lost_host={held}B recovered_bodies={runs}",
    )
    assert held > 0, "the lost host's disk held nothing that was not in the inbox"
    assert runs[0] > 0, "the recovery moved nothing"
    assert runs[1] == 0, "the second recovery moved bodies again"


def recover(cluster: Cluster, folder: Path, name: str) -> int:
    """Run ``emailhook spool recover`` on web2; return the bodies it moved."""
    process = cluster.spawn("web2", ["spool", "recover", str(folder)], name=name)
    assert process.popen.wait(60) == 0, process.output()
    line = next(line for line in process.output().splitlines() if "bodies moved" in line)
    return int(line.split()[0])


def test_redis_killed_and_restarted_empty_loses_and_doubles_nothing(scenario: Cluster) -> None:
    sender = send(scenario)
    sender.wait_answered(600)
    scenario.redis.restart()
    settle(scenario, sender, "redis-restarted-empty", spools(scenario, "web1", "web2"))


@pytest.mark.usefixtures("link_shaping")  # before the scenario starts its processes
def test_latency_and_loss_between_web_hosts_and_database(scenario: Cluster) -> None:
    sender = send(scenario, duration=30)
    sender.wait_answered(300)
    shapers = [
        Shaper(scenario.net.link(host, "back"), queue, delay=0.2, loss=0.05)
        for queue, host in enumerate(("web1", "web2"))
    ]
    try:
        database = (scenario.net.address("db"), scenario.postgres.port)
        connect = call_in(scenario.net.ns("web1"), connect_seconds, *database)
        time.sleep(30)
        held = scenario.unmoved(spools(scenario, "web1", "web2"))
    finally:
        for shaper in shapers:
            shaper.clear()
    settle(
        scenario,
        sender,
        "web-db-200ms-5pct-loss-30s",
        spools(scenario, "web1", "web2"),
        f"shaper={shapers[0].kind} web1_db_connect={connect:.3f}s spool_bytes_held_at_end={held}",
    )
    assert connect >= 0.19, f"the link was not slowed: a connect took {connect:.3f}s"
    assert sender.ledger.max_latency < 2.0, "answers waited on the slow link"


def connect_seconds(host: str, port: int) -> float:
    began = time.monotonic()
    socket.create_connection((host, port), 10).close()
    return time.monotonic() - began
