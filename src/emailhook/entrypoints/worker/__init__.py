"""The worker process: the Celery app and its task (``app``), the threads beside its pool
(``background``: relay, spool sweep, periodic jobs) and their scheduler (``periodic``)."""
