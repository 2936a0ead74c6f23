"""`make bench`: what keeping the event loop free buys, measured on this machine.

The service runs under uvicorn exactly as in production (one worker, on 127.0.0.1), a
fresh process per scenario, against the embedded services of `make run`. A load
generator in its own process (`bench.load`) drives it; a bare FastAPI app written the
usual way (`bench.naive`) runs beside it as the baseline. Three scenarios:

1. loop safety: health-probe latency idle and while N requests wait in a slow I/O
   endpoint, and that endpoint's throughput as a fraction of the ideal N / 0.2 s;
2. throughput: req/s and p99 of the health probe and of the items endpoints, template
   against naive app;
3. watchdog cost: the same read with the loop-lag monitor on and off.

Everything is compared inside one run, as ratios; absolute figures are for information.
On Linux with two CPUs or more, the bench's own processes (load generators, embedded
services) keep off the first CPU, and the two servers of a comparison share it, loaded at
once (`placement.py`; the sync stack alternates rounds instead).
The targets are checked at the end (PASS/FAIL); `--strict` turns a FAIL (or a failed
request) into exit code 1.
"""
