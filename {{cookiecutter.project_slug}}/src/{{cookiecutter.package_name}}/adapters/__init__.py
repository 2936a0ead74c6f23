"""I/O adapters: one module per external system."""
