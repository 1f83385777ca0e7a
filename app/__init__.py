"""The edge and the use cases: HTTP handlers, CLI, settings and the one composition root."""
