"""One module per provider kind, and the registry table that names them."""
