"""Use cases: accept a body, process bodies, relay accepted bodies to the queue."""
