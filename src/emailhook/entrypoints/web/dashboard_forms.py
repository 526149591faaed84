"""The dashboard's GET parameters: a time range in whole buckets, sorting, search terms."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from emailhook.domain.buckets import MAX_BUCKETS, Bucket, Span
from emailhook.entrypoints.web import params
from emailhook.service.errors import InvalidQueryError

#: the preset ranges: how far back from now, and the bucket each shows by default
PRESETS: dict[str, tuple[timedelta, Bucket]] = {
    "24h": (timedelta(hours=24), Bucket.HOUR),
    "7d": (timedelta(days=7), Bucket.DAY),
    "30d": (timedelta(days=30), Bucket.DAY),
    "90d": (timedelta(days=90), Bucket.DAY),
}
DEFAULT_PRESET = "7d"


@dataclass(frozen=True, slots=True)
class RangeChoice:
    """The range a page shows: a preset or custom (``since``/``until``), in whole buckets."""

    span: Span
    preset: str | None
    #: the parameters that reproduce this range, for links that change something else
    args: dict[str, str]


def range_choice(args: Mapping[str, str], now: datetime) -> RangeChoice:
    """Read ``range`` (a preset), or ``since``/``until`` (ISO 8601, UTC by default); ``bucket``."""
    since, until = params.instant(args, "since"), params.instant(args, "until")
    custom = since is not None or until is not None
    preset = params.choice(args, "range", list(PRESETS)) or DEFAULT_PRESET
    length, default_bucket = PRESETS[preset]
    bucket = Bucket(params.choice(args, "bucket", list(Bucket)) or default_bucket)
    try:
        if custom:
            until = until or now
            span = Span.covering(since or until - length, until, bucket)
        else:
            span = Span.covering(now - length, now, bucket)
    except OverflowError:
        raise InvalidQueryError("since and until must lie within years 2 to 9998") from None
    if span.start >= span.end:
        raise InvalidQueryError("since must come before until")
    if len(span) > MAX_BUCKETS[bucket]:
        raise InvalidQueryError(
            f"at most {MAX_BUCKETS[bucket]} {bucket.value} buckets: choose a shorter range"
            + (" or day buckets" if bucket is Bucket.HOUR else "")
        )
    kept = {"bucket": bucket.value}
    if custom:
        kept |= {"since": span.start.isoformat(), "until": span.end.isoformat()}
    else:
        kept["range"] = preset
    return RangeChoice(span, None if custom else preset, kept)


def sort_choice(args: Mapping[str, str], columns: list[str], default: str) -> tuple[str, bool]:
    """Read ``sort`` (one of ``columns``) and ``dir`` (asc/desc, default desc)."""
    column = params.choice(args, "sort", columns) or default
    return column, (params.choice(args, "dir", ["asc", "desc"]) or "desc") == "desc"


def search_term(args: Mapping[str, str]) -> tuple[int | None, str | None]:
    """Read ``q``: a qj_contact_id (digits) or an e-mail address (lower-cased)."""
    raw = (params.text(args, "q") or "").strip()
    if not raw:
        return None, None
    if raw.lstrip("+-").isdigit():
        return params.parse_integer(raw, "q"), None
    if "@" in raw:
        return None, raw.lower()
    raise InvalidQueryError("q must be a qj_contact_id (digits) or an e-mail address")
