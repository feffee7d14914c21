"""Benchmarks run by `make bench`; kept outside chalicelib/ so Chalice never packages them."""
