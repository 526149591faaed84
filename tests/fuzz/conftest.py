"""Hypothesis profiles of the fuzz tests: ``bounded`` in ``make test``, ``long`` in ``make fuzz``.

Pick one with ``HYPOTHESIS_PROFILE=long`` (or ``pytest --hypothesis-profile=long``).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_COMMON = {
    "deadline": None,  # a first request migrates a database; time is bounded by example counts
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
    "print_blob": True,  # a failure prints the @reproduce_failure line to replay it
}
#: part of every ``make test``: a few seconds per test
settings.register_profile("bounded", max_examples=150, **_COMMON)  # type: ignore[arg-type]
#: ``make fuzz``: minutes; run before a release or after touching a parser
settings.register_profile("long", max_examples=20_000, **_COMMON)  # type: ignore[arg-type]
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "bounded"))
