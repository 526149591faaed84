"""emailhook on five machines (two web, two worker, one database) while links and servers fail.

Each scenario posts 3,000 unique delivery reports through both web hosts, as Infobip would
(every answer other than 200 retried later), breaks something mid-run, and checks the ledger:
the events answered 200 are exactly the events stored, none twice, and no accepted body was
moved from a spool into the inbox twice. Both worker hosts run their relays all along.
"""

from __future__ import annotations

import shutil
import time
import uuid

import pytest

from support.cluster import Cluster
from support.hosts import Shaper
from support.ledger import HOSTS_PUBLISHED, assert_exactly_once, assert_moved_once, stored_events
from support.sender import Sender, delivery_reports

pytestmark = pytest.mark.multihost

REPORTS = 3000


def send(cluster: Cluster, *, duration: float = 15.0, hosts: tuple[str, ...] = ("web1", "web2")) -> Sender:
    bodies = delivery_reports(REPORTS, uuid.uuid4().hex[:8])
    return Sender(cluster.net.ns("lg"), cluster.post_urls(hosts), bodies, duration=duration).start()


def settle(cluster: Cluster, sender: Sender, scenario: str, folders: list, note: str = "") -> None:
    """Wait for the load and the backlog to end, publish the ledger line, check it."""
    ledger = sender.join()
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
    assert_exactly_once(ledger, stored)
    assert_moved_once(sender.answered_ids, inbox)


def spools(cluster: Cluster, *hosts: str) -> list:
    return [cluster.folder(host, "spool") for host in hosts]


def test_both_relays_publish_at_once_and_nothing_is_stored_twice(scenario: Cluster) -> None:
    sender = send(scenario)
    settle(scenario, sender, "both-relays", spools(scenario, "web1", "web2"))
