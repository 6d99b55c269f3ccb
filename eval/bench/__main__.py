"""``python -m eval.bench`` runs ``cnai bench`` (same options)."""

import sys

from service.cli import app

app(["bench", *sys.argv[1:]])
