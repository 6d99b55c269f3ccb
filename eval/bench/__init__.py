"""Benchmark sections: each module's ``run(...)`` returns figures beside their baselines."""
