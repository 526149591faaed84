"""The composition root: every service of a process, built from one Settings.

The entrypoints (the Flask app, the Celery app, the CLI) ask this package for ready-made
services and do nothing but translate requests, tasks and commands into calls of them; this
package imports no entrypoint. ``load_settings`` is the only place the environment is read: a
child process gets its configuration from the environment it was started with, never from a
parent changing its own.

``web`` builds a web process's services, ``worker`` a worker's, ``pulls`` the jobs that read
Infobip's API and prune old data, ``commands`` what a one-off command opens, ``policies`` the
rules read from settings.
"""

from __future__ import annotations

from emailhook.settings import Settings


def load_settings() -> Settings:
    """Return this process's settings, read from its environment."""
    return Settings()
