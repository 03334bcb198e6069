"""Storage adapters: the only modules that touch a filesystem or AWS."""
