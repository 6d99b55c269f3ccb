"""The retrieval QA API (FastAPI) and the ``cnai`` command line."""
