"""Test support: real services and real processes, started and stopped for the tests."""
