"""The queues a worker consumes: names the web, the relays and ``emailhook worker`` agree on,
in a module that imports nothing (``emailhook worker`` names them before it becomes Celery)."""

#: The queue named in the brief; producers and workers agree on nothing else.
QUEUE = "email-webhook"
#: The send pipeline's queue: ids of outbox messages due for their provider.
SEND_QUEUE = "email-send"
