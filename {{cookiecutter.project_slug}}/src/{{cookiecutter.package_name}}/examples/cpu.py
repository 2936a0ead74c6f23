"""CPU-bound work for the process pool.

Pure Python holds the GIL the whole time it runs: in a thread it would still slow every
other thread and the event loop, so it runs in a worker process (`run_in_process`). It
lives in its own small module, and takes and returns plain ints, so that it pickles.
"""

from __future__ import annotations


def count_primes(limit: int) -> int:
    """How many primes are below `limit` (a sieve of Eratosthenes, in plain loops on purpose)."""
    if limit < 3:
        return 0
    composite = bytearray(limit)
    count = 0
    for n in range(2, limit):
        if composite[n]:
            continue
        count += 1
        for multiple in range(n * n, limit, n):
            composite[multiple] = 1
    return count
