"""Suppression sync with Infobip: import its suppression list and e-mail blocklist into ours
(source ``infobip``), and, when enabled, export our hard bounces and complaints to it.

Imported entries are evidence like our events' (``domain.suppression``): merged by max, lifted
by an operator's removal made after them, so a sync run repeated, or run in any order with the
webhooks, gives the same list. The export respects each domain's ``createBounces`` /
``createComplaints`` flags and sends only what our own events found (never what came from
Infobip). An entry Infobip later drops stays on our list until an operator removes it.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from emailhook.adapters.db.models import SuppressedAddress
from emailhook.adapters.infobip.answers import InfobipApiError
from emailhook.adapters.infobip.api import InfobipApi
from emailhook.adapters.store import suppressions
from emailhook.domain.clock import utcnow
from emailhook.domain.suppression import Source, SuppressionReason
from emailhook.providers.infobip import suppressions as infobip
from emailhook.providers.infobip.suppressions import Imported

log = logging.getLogger("emailhook.suppression_sync")

#: addresses written per transaction
_CHUNK = 1000


@dataclass(slots=True)
class SyncReport:
    """What one sync run imported and exported."""

    domains: int = 0
    #: entries imported, by Infobip's type (BOUNCE, ..., BLOCKLIST)
    imported: Counter[str] = field(default_factory=Counter)
    skipped: int = 0
    #: addresses sent to Infobip, by type
    exported: Counter[str] = field(default_factory=Counter)
    completed: bool = False
    error: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "domains": self.domains,
            "imported": dict(self.imported),
            "skipped": self.skipped,
            "exported": dict(self.exported),
            "completed": self.completed,
            "error": self.error,
        }


class SuppressionSync:
    """Syncs our suppression list with one Infobip account's lists."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        api: Callable[[], AbstractContextManager[InfobipApi]],
        *,
        soft_bounce_window: timedelta | None,
        export: bool,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._api = api
        self._window = soft_bounce_window
        self._export = export
        self._clock = clock

    def run(self) -> SyncReport:
        """Import (and export, when enabled); an API failure ends the run, in the report."""
        report = SyncReport()
        try:
            with self._api() as api:
                domains = list(api.iter_suppression_domains())
                report.domains = len(domains)
                for domain in domains:
                    self._import(self._domain_entries(api, domain, report), report)
                self._import(self._blocklist_entries(api, report), report)
                if self._export:
                    self._export_to(api, domains, report)
        except InfobipApiError as error:
            report.error = str(error)
            log.warning("suppression sync stopped: %s", error)
            return report
        report.completed = True
        log.info(
            "suppression sync: %d domains, imported %s, skipped %d, exported %s",
            report.domains,
            dict(report.imported),
            report.skipped,
            dict(report.exported),
        )
        return report

    def _domain_entries(
        self, api: InfobipApi, domain: dict[str, Any], report: SyncReport
    ) -> Iterable[Imported]:
        name = infobip.domain_name(domain)
        if name is None:
            return
        for type_, flag in infobip.READ_FLAGS.items():
            if not infobip.may(domain, flag):
                continue
            for item in api.iter_suppressions(name, type_):
                entry = infobip.suppression_entry(item, type_)
                if entry is None:
                    report.skipped += 1
                    continue
                report.imported[type_] += 1
                yield entry

    def _blocklist_entries(self, api: InfobipApi, report: SyncReport) -> Iterable[Imported]:
        for item in api.iter_blocklist("EMAIL"):
            entry = infobip.blocklist_entry(item)
            if entry is None:
                report.skipped += 1
                continue
            report.imported["BLOCKLIST"] += 1
            yield entry

    def _import(self, entries: Iterable[Imported], report: SyncReport) -> None:
        del report  # counted as read
        chunk: list[Imported] = []
        for entry in entries:
            chunk.append(entry)
            if len(chunk) >= _CHUNK:
                self._write(chunk)
                chunk = []
        if chunk:
            self._write(chunk)

    def _write(self, entries: list[Imported]) -> None:
        found = suppressions.collect_evidence(
            (e.email, e.reason, Source.INFOBIP, e.since, e.since) for e in entries
        )
        emails = sorted({e.email for e in entries})
        with self._sessions.begin() as session:
            suppressions.lock_and_lift(session, emails, {})
            suppressions.add_evidence(session, found)
            suppressions.refresh(session, emails, self._window)

    def _export_to(
        self, api: InfobipApi, domains: list[dict[str, Any]], report: SyncReport
    ) -> None:
        ours = self._ours()
        for domain in domains:
            name = infobip.domain_name(domain)
            if name is None:
                continue
            for reason, type_ in infobip.EXPORTED.items():
                emails = ours.get(reason, [])
                if emails and infobip.may(domain, infobip.CREATE_FLAGS[type_]):
                    api.add_suppressions(name, type_, emails)
                    report.exported[type_] += len(emails)

    def _ours(self) -> dict[SuppressionReason, list[str]]:
        """Our own suppressions Infobip can take: hard bounces and complaints we found."""
        stmt = select(SuppressedAddress.email, SuppressedAddress.reason).where(
            SuppressedAddress.source == Source.EMAILHOOK.value,
            SuppressedAddress.reason.in_([r.value for r in infobip.EXPORTED]),
        )
        found: dict[SuppressionReason, list[str]] = {}
        with self._sessions.begin() as session:
            for email, reason in session.execute(stmt.order_by(SuppressedAddress.email)):
                found.setdefault(SuppressionReason(reason), []).append(email)
        return found
