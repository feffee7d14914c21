"""Broadcasts: one email to a segment or list, once per contact, with an optional A/B test."""
