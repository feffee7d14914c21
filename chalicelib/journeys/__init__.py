"""Journeys: the YAML language, its compiler to state machines, and the engine that runs them."""
