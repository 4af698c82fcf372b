"""Benchmarks: NLU quality on the held-out test sets (`bench.nlu`) and bot-turn latency (`bench.turn`)."""
