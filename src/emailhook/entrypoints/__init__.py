"""Thin layers that turn HTTP requests, queue messages and commands into service calls."""
