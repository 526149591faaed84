"""One running stack per backend and test module; every test starts from empty tables."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.services import BACKENDS, backend_urls
from support.stack import Stack


@pytest.fixture(scope="module", params=BACKENDS)
def running_stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp(request.param.replace("+", "-"))
    with backend_urls(request.param, workdir) as (database_url, broker_url):
        # DEBUG: the web process then logs each accepted body, which the log tests read
        debug = {"EMAILHOOK_LOG_LEVEL": "DEBUG"}
        stack = Stack(workdir, database_url, broker_url, extra_env=debug).start()
        try:
            yield stack
        finally:
            stack.stop()


@pytest.fixture
def stack(running_stack: Stack) -> Stack:
    running_stack.wait_until_drained()
    running_stack.reset()
    return running_stack
