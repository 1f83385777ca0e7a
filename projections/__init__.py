"""DuckDB read models rebuilt from the ledger, and the projector that feeds them."""
