"""The filters an email may use beyond Jinja's own: dates in the reader's language, and the
link tracking that publishing wires in. Validation and rendering share this one set."""

from __future__ import annotations

from typing import Any

from chalicelib.messaging import formatting, links

FILTERS: dict[str, Any] = {**formatting.FILTERS, "track": links.track}
