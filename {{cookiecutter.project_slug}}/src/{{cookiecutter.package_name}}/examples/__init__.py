"""The example API: one module per example, each with its own router. Delete what you do not need.

Each example shows how one kind of I/O stays off the event loop; see the docstring of
its module. `routes.py` lists the routers the app serves. This package imports nothing
itself, so a process-pool worker that unpickles `examples.cpu.count_primes` imports that
module only, not every router and adapter.
"""
