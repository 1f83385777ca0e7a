"""Pure business rules of the gateway: no framework, no I/O."""
