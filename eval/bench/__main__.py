"""``python -m eval.bench`` keeps running the latency benchmark (``make bench``)."""

from eval.bench.latency import main

main()
