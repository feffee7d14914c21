"""The event pipeline: every stored event processed once, in order per contact."""
