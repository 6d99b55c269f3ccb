"""Answering: quotes or generated sentences from retrieved passages, with citations and support."""
