"""What talks to the outside: the event store, upstream HTTP, providers and data files."""
