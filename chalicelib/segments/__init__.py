"""Segments: the DSL that groups contacts, membership evaluation, RFM and lifecycle."""
