"""HTTP adapters: turn Chalice requests into use-case calls and results into responses."""
