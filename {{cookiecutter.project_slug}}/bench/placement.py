"""Which CPUs run what: the bench's own processes keep off the first CPU, where the servers
of an async comparison run at the same time.

On a shared machine the speed of a CPU drifts by a quarter within seconds (other
tenants, the host), so two servers measured one after the other are measured on two
different machines: the ratio of two identical servers moved by 9% from one round to the
next here. Two servers loaded *at once on the same CPU* see the same machine at every
instant. The kernel shares that CPU fairly between them (an async server has one busy
thread, its event loop), so the ratio of their throughputs is the inverse ratio of what a
request costs each: the same two identical servers then had a standard deviation of 0.7%
over 2 s rounds. The load generators, PostgreSQL and the other embedded services run on
the remaining CPUs, so the servers compared only compete with each other. (The sync stack
does not share: `project.COMPARE_ON_SHARED_CPU`.)

This needs Linux (CPU affinity) and at least two CPUs; elsewhere `detect` returns None and
the bench alternates rounds between the servers instead.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Placement:
    shared: frozenset[int]  # the CPU that the two servers of a comparison share
    tools: frozenset[int]  # the bench itself, its load generators and the embedded services
    every: frozenset[int]  # every CPU this process may use

    @classmethod
    def detect(cls) -> Placement | None:
        if not hasattr(os, "sched_getaffinity") or not os.path.isdir("/proc/self/task"):
            return None
        cpus = frozenset(os.sched_getaffinity(0))
        if len(cpus) < 2:
            return None
        first = min(cpus)
        return cls(shared=frozenset({first}), tools=cpus - {first}, every=cpus)

    def confine_tools(self) -> None:
        """This process, and the processes it starts from now on, run on the tools' CPUs."""
        os.sched_setaffinity(0, self.tools)

    @staticmethod
    def pin(pid: int, cpus: frozenset[int]) -> None:
        """Every thread of process `pid` runs on `cpus`; threads and processes it starts later inherit it.

        Processes it started before (the process pool's workers, idle here) keep the tools' CPUs.
        """
        pinned: set[str] = set()
        while tasks := set(os.listdir(f"/proc/{pid}/task")) - pinned:  # again, for threads started meanwhile
            for task in tasks:
                with contextlib.suppress(ProcessLookupError):  # a thread that just ended
                    os.sched_setaffinity(int(task), cpus)
            pinned |= tasks
