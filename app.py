"""Leadflow's Chalice app: routes, schedules and stream handlers. Wiring only."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from chalice import Chalice, Rate

from chalicelib.api import admin, forms, http, tracking
from chalicelib.bootstrap import services
from chalicelib.journeys import fanout
from chalicelib.pipeline import stream, sweeper

app = Chalice(app_name="leadflow")
PUBLIC_BODY = [http.JSON, http.FORM]


@app.route("/forms/{form_id}/submissions", methods=["POST"], content_types=PUBLIC_BODY)
@http.guarded
def submit_form(form_id: str):
    return forms.submit(app.current_request, form_id, services())


@app.route("/forms/{form_id}/submissions", methods=["OPTIONS"])
@http.guarded
def submit_form_preflight(form_id: str):
    return forms.preflight(app.current_request, form_id, services())


@app.route("/forms/{form_id}", methods=["GET"])
@http.guarded
def form_page(form_id: str):
    return forms.page(form_id, services())


@app.route("/forms/{form_id}/thank-you", methods=["GET"])
@http.guarded
def thank_you_page(form_id: str):
    return forms.thank_you(form_id, services())


@app.route("/events", methods=["POST"], content_types=[http.JSON, http.TEXT])
@http.guarded
def track_event():
    return tracking.track(app.current_request, services())


@app.route("/events", methods=["OPTIONS"])
@http.guarded
def track_event_preflight():
    return tracking.preflight()


@app.route("/contacts/{contact_id}", methods=["GET"])
@http.guarded
def get_contact(contact_id: str):
    return admin.get_contact(app.current_request, contact_id, services())


@app.route("/contacts", methods=["GET"])
@http.guarded
def find_contacts():
    return admin.find_contacts(app.current_request, services())


@app.lambda_function(name="pipeline")
def pipeline(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Fed by the events table's stream (the mapping lives in infra/)."""
    return stream.handle_batch(event.get("Records", []), services().processor)


@app.schedule(Rate(1, unit=Rate.MINUTES), name="sweeper")
def sweep(event: Any) -> None:
    svc = services()
    sweeper.sweep(svc.processor, timedelta(seconds=svc.settings.sweep_grace_seconds))


@app.schedule(Rate(1, unit=Rate.MINUTES), name="tick")
def tick(event: Any) -> None:
    """Advance enrollments whose wait is due (a large batch fans out to `advance`)."""
    services().journeys.tick()


@app.lambda_function(name="advance")
def advance(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Fed by the journey-advance queue (the mapping lives in infra/)."""
    return fanout.handle_batch(event.get("Records", []), services().journeys)
