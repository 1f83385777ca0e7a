"""The dashboard: server-rendered pages over the projections, behind a session-cookie login."""
