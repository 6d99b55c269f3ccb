"""Tests of the chat UI, run against a live API on loopback."""
