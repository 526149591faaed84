"""Pacing of API calls and the waits between retries, on a clock the test moves."""

from __future__ import annotations

import threading

import pytest

from emailhook.adapters.infobip.rate_limit import Backoff, RateLimiter


class Time:
    def __init__(self) -> None:
        self.now = 50.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_calls_are_spaced_evenly_without_a_burst() -> None:
    time = Time()
    limiter = RateLimiter(2.0, clock=time.clock, sleep=time.sleep)
    waits = [limiter.acquire() for _ in range(4)]
    assert waits == [0.0, 0.5, 0.5, 0.5]
    assert time.now == 51.5


def test_time_spent_between_calls_counts_toward_the_spacing() -> None:
    time = Time()
    limiter = RateLimiter(1.0, clock=time.clock, sleep=time.sleep)
    limiter.acquire()
    time.now += 0.75  # the request itself took 0.75 s
    assert limiter.acquire() == pytest.approx(0.25)
    time.now += 5  # idle: no debt, and no credit for a burst later
    assert limiter.acquire() == 0.0
    assert limiter.acquire() == 1.0


def test_concurrent_callers_share_one_pace() -> None:
    time = Time()
    lock = threading.Lock()

    def sleep(seconds: float) -> None:
        with lock:
            time.sleeps.append(seconds)

    limiter = RateLimiter(10.0, clock=time.clock, sleep=sleep)
    threads = [threading.Thread(target=limiter.acquire) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # the clock never moved: each caller waited for its own slot, 0.1 s apart
    assert sorted(time.sleeps) == pytest.approx([0.1, 0.2, 0.3, 0.4])


def test_a_rate_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        RateLimiter(0)


def test_backoff_doubles_up_to_its_cap() -> None:
    backoff = Backoff(retries=6, base=1.0, cap=10.0)
    assert [backoff.delay(n) for n in range(6)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
