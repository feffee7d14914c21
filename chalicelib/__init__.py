"""Leadflow: the code every Lambda imports (Chalice packages only app.py and chalicelib/)."""
