"""The registry of pipeline handlers. Scoring, segments, journeys and handoff add theirs here."""

from __future__ import annotations

from chalicelib.leads import stitch
from chalicelib.pipeline.registry import ANY, Registry

HANDLERS: Registry = {
    ANY: (stitch.stitch,),
}
