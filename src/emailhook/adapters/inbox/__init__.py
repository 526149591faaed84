"""The inbox: every accepted body, the durable record the queue is rebuilt from. ``bodies``:
keep them and move them to DONE or DEAD; ``claims``: the relay's; ``backlog``: the operators';
``retention``: the prune of old ones."""
