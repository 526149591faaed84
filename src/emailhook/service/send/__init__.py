"""The send pipeline: the send API's service (accept, read, cancel), the relay of due
messages, the dispatcher that calls the providers, one-click unsubscribe."""
