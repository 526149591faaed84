"""One running stack per backend for the e2e tests; every test starts from empty tables.

Starting a stack (a web server and a Celery worker, each importing the application) costs
seconds of CPU, so the tests of every module here share it: the fixture is package-scoped (this
folder is a package so that it ends with the folder's last test, not with the session). Under
pytest-xdist each backend's tests form one group (``xdist_group``), run by one worker, so that
each stack is started once.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.services import BACKENDS, backend_urls, on_backend
from support.stack import Stack


@pytest.fixture(scope="package", params=[on_backend(name) for name in BACKENDS])
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
