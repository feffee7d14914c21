"""Leadflow's Chalice app: routes, schedules and stream handlers. Wiring only."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from chalice import Chalice, Rate

from chalicelib import telemetry
from chalicelib.api import (
    admin,
    assets,
    audit,
    broadcasts,
    contacts,
    email,
    forms,
    health,
    http,
    imports,
    index,
    keys,
    leads,
    middleware,
    openapi,
    privacy,
    reports,
    segments,
    tracking,
)
from chalicelib.api.dashboard import views as dashboard
from chalicelib.bootstrap import services
from chalicelib.pipeline import stream, sweeper
from chalicelib.services import courier, import_desk, journey_fanout, sender

app = Chalice(app_name="leadflow")
app.api.binary_types.append("image/gif")
app.api.binary_types.extend(assets.MEDIA_TYPES)
app.api.binary_types.append(imports.XLSX)
PUBLIC_BODY = [http.JSON, http.FORM]


@app.middleware("all")
def per_invocation(event, get_response):
    return middleware.invocation(event, get_response)


@app.middleware("http")
def audit_trail(request, get_response):
    return audit.trail(request, get_response(request), services())


@app.middleware("http")
def one_error_shape(request, get_response):
    return middleware.one_error_shape(request, get_response, app.routes)


@app.middleware("http")
def pages_for_browsers(request, get_response):
    return middleware.pages_for_browsers(request, get_response)


@app.middleware("http")
def bytes_whatever_accepted(request, get_response):
    return middleware.bytes_whatever_accepted(
        request, get_response, {email.PIXEL_ROUTE, assets.ROUTE}
    )


@app.route("/", methods=["GET"])
@http.guarded
def index_page():
    return index.page(app.current_request, services())


@app.route("/health", methods=["GET"])
@http.guarded
def health_check():
    return health.report(services())


@app.route("/openapi.json", methods=["GET"])
@http.guarded
def openapi_document():
    return openapi.serve(services().settings.public_url)


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


@app.route(assets.ROUTE, methods=["GET"])
@http.guarded
def asset(name: str):
    return assets.serve(app.current_request, name, services())


@app.route("/events", methods=["POST"], content_types=[http.JSON, http.TEXT])
@http.guarded
def track_event():
    return tracking.track(app.current_request, services())


@app.route("/events", methods=["OPTIONS"])
@http.guarded
def track_event_preflight():
    return tracking.preflight()


@app.route("/t/c/{token}", methods=["GET"])
@http.guarded
def email_click(token: str):
    return email.click(token, services())


@app.route(email.PIXEL_ROUTE, methods=["GET"])
@http.guarded
def email_open(token: str):
    request = app.current_request
    return email.open_pixel(token, services(), request.headers.get("user-agent"))


@app.route("/unsubscribe/{token}", methods=["GET"])
@http.guarded
def preferences(token: str):
    return email.preferences_page(token, services())


@app.route(
    "/unsubscribe/{token}",
    methods=["POST"],
    content_types=[http.FORM, http.MULTIPART, http.TEXT, http.JSON],
)
@http.guarded
def unsubscribe(token: str):
    return email.unsubscribe(app.current_request, token, services())


@app.route("/ses/notifications", methods=["POST"], content_types=[http.TEXT, http.JSON])
@http.guarded
def ses_notifications():
    return email.ses_notification(app.current_request, services())


@app.route("/outbox", methods=["GET"])
@http.guarded
def outbox():
    return email.outbox(services())


@app.route("/outbox/{name}", methods=["GET"])
@http.guarded
def outbox_message(name: str):
    return email.outbox_message(name, services())


@app.route("/outbox/{name}/raw", methods=["GET"])
@http.guarded
def outbox_raw(name: str):
    return email.outbox_message(name, services(), raw=True)


@app.route("/contacts/duplicates", methods=["GET"])
@http.guarded
def contact_duplicates():
    return contacts.duplicates(app.current_request, services())


@app.route("/contacts/merge", methods=["POST"], content_types=[http.JSON, http.TEXT])
@http.guarded
def merge_contacts():
    return contacts.merge(app.current_request, services())


@app.route(
    "/contacts/{contact_id}/consents", methods=["POST"], content_types=[http.JSON, http.TEXT]
)
@http.guarded
def change_consent(contact_id: str):
    return contacts.change_consent(app.current_request, contact_id, services())


@app.route("/imports", methods=["POST"], content_types=imports.UPLOAD_TYPES)
@http.guarded
def start_import():
    return imports.submit(app.current_request, services())


@app.route("/imports", methods=["GET"])
@http.guarded
def list_imports():
    return imports.jobs(app.current_request, services())


@app.route("/imports/{job_id}", methods=["GET"])
@http.guarded
def import_status(job_id: str):
    return imports.status(app.current_request, job_id, services())


@app.route("/imports/{job_id}/rejected", methods=["GET"])
@http.guarded
def import_rejected(job_id: str):
    return imports.rejected(app.current_request, job_id, services())


@app.route("/contacts/{contact_id}", methods=["GET"])
@http.guarded
def get_contact(contact_id: str):
    return admin.get_contact(app.current_request, contact_id, services())


@app.route("/contacts", methods=["GET"])
@http.guarded
def find_contacts():
    return admin.find_contacts(app.current_request, services())


@app.route("/dashboard", methods=["GET"])
@http.guarded
def dashboard_home():
    return dashboard.home(app.current_request, services())


@app.route("/dashboard/{page}", methods=["GET"])
@http.guarded
def dashboard_page(page: str):
    return dashboard.page(app.current_request, page, services())


@app.route("/dashboard/{page}", methods=["POST"], content_types=[http.FORM])
@http.guarded
def dashboard_form(page: str):
    return dashboard.page(app.current_request, page, services())


@app.route("/dashboard/{page}/{item_id}", methods=["GET"])
@http.guarded
def dashboard_item(page: str, item_id: str):
    return dashboard.item(app.current_request, page, item_id, services())


@app.route("/dashboard/{page}/{item_id}", methods=["POST"], content_types=[http.FORM])
@http.guarded
def dashboard_item_form(page: str, item_id: str):
    return dashboard.item(app.current_request, page, item_id, services())


@app.route("/reports/overview", methods=["GET"])
@http.guarded
def report_overview():
    return reports.overview(app.current_request, services())


@app.route("/reports/funnel", methods=["GET"])
@http.guarded
def report_funnel():
    return reports.funnel(app.current_request, services())


@app.route("/reports/cohorts", methods=["GET"])
@http.guarded
def report_cohorts():
    return reports.cohorts(app.current_request, services())


@app.route("/reports/campaigns", methods=["GET"])
@http.guarded
def report_campaigns():
    return reports.campaigns(app.current_request, services())


@app.route("/reports/campaigns/{campaign_id}", methods=["GET"])
@http.guarded
def report_campaign(campaign_id: str):
    return reports.campaign(app.current_request, campaign_id, services())


@app.route("/reports/channels", methods=["GET"])
@http.guarded
def report_channels():
    return reports.channels(app.current_request, services())


@app.route("/reports/emails", methods=["GET"])
@http.guarded
def report_emails():
    return reports.emails(app.current_request, services())


@app.route("/reports/journeys/{journey_id}", methods=["GET"])
@http.guarded
def report_journey(journey_id: str):
    return reports.journey(app.current_request, journey_id, services())


@app.route("/reports/broadcasts/{broadcast_id}", methods=["GET"])
@http.guarded
def report_broadcast(broadcast_id: str):
    return reports.broadcast(app.current_request, broadcast_id, services())


@app.route("/reports/sales", methods=["GET"])
@http.guarded
def report_sales():
    return reports.sales(app.current_request, services())


@app.route("/segments", methods=["GET"])
@http.guarded
def list_segments():
    return segments.list_segments(app.current_request, services())


@app.route("/segments/{segment_id}/members", methods=["GET"])
@http.guarded
def segment_members(segment_id: str):
    return segments.members(app.current_request, segment_id, services())


@app.route("/segments/{segment_id}/members", methods=["POST"], content_types=[http.JSON, http.TEXT])
@http.guarded
def add_segment_member(segment_id: str):
    return segments.add_member(app.current_request, segment_id, services())


@app.route("/segments/{segment_id}/members/{contact_id}", methods=["DELETE"])
@http.guarded
def remove_segment_member(segment_id: str, contact_id: str):
    return segments.remove_member(app.current_request, segment_id, contact_id, services())


@app.route("/segments/{segment_id}/explain", methods=["GET"])
@http.guarded
def explain_segment(segment_id: str):
    return segments.explain(app.current_request, segment_id, services())


@app.route("/broadcasts", methods=["GET"])
@http.guarded
def list_broadcasts():
    return broadcasts.list_broadcasts(app.current_request, services())


@app.route("/broadcasts/{broadcast_id}", methods=["GET"])
@http.guarded
def broadcast_status(broadcast_id: str):
    return broadcasts.status(app.current_request, broadcast_id, services())


@app.route("/broadcasts/{broadcast_id}", methods=["PUT"], content_types=[http.JSON, http.TEXT])
@http.guarded
def save_broadcast(broadcast_id: str):
    return broadcasts.save(app.current_request, broadcast_id, services())


@app.route("/broadcasts/{broadcast_id}/preview", methods=["GET"])
@http.guarded
def preview_broadcast(broadcast_id: str):
    return broadcasts.preview(app.current_request, broadcast_id, services())


@app.route(
    "/broadcasts/{broadcast_id}/schedule", methods=["POST"], content_types=[http.JSON, http.TEXT]
)
@http.guarded
def schedule_broadcast(broadcast_id: str):
    return broadcasts.schedule(app.current_request, broadcast_id, services())


@app.route(
    "/broadcasts/{broadcast_id}/cancel", methods=["POST"], content_types=[http.JSON, http.TEXT]
)
@http.guarded
def cancel_broadcast(broadcast_id: str):
    return broadcasts.cancel(app.current_request, broadcast_id, services())


@app.route("/leads/{contact_id}/{action}", methods=["POST"], content_types=[http.JSON])
@http.guarded
def lead_action(contact_id: str, action: str):
    return leads.act(app.current_request, contact_id, action, services())


@app.route("/accept/{token}", methods=["GET"])
@http.guarded
def accept_page(token: str):
    return leads.accept_page(token, services())


@app.route("/accept/{token}", methods=["POST"], content_types=[http.FORM, http.TEXT, http.JSON])
@http.guarded
def accept_lead(token: str):
    return leads.accept(app.current_request, token, services())


@app.route("/keys", methods=["GET"])
@http.guarded
def list_keys():
    return keys.list_keys(app.current_request, services())


@app.route("/keys", methods=["POST"], content_types=[http.JSON, http.TEXT])
@http.guarded
def create_key():
    return keys.create_key(app.current_request, services())


@app.route("/keys/{key_id}", methods=["DELETE"])
@http.guarded
def revoke_key(key_id: str):
    return keys.revoke_key(app.current_request, key_id, services())


@app.route("/audit", methods=["GET"])
@http.guarded
def audit_log():
    return audit.read(app.current_request, services())


@app.route("/privacy/requests", methods=["GET"])
@http.guarded
def privacy_requests():
    return privacy.list_requests(app.current_request, services())


@app.route("/privacy/requests", methods=["POST"], content_types=[http.JSON, http.TEXT])
@http.guarded
def receive_privacy_request():
    return privacy.receive(app.current_request, services())


@app.route("/privacy/requests/{request_id}", methods=["GET"])
@http.guarded
def privacy_request(request_id: str):
    return privacy.one(app.current_request, request_id, services())


@app.route(
    "/privacy/requests/{request_id}/fulfil",
    methods=["POST"],
    content_types=[http.JSON, http.TEXT],
)
@http.guarded
def fulfil_privacy_request(request_id: str):
    return privacy.fulfil(app.current_request, request_id, services())


@app.route("/deliveries", methods=["GET"])
@http.guarded
def delivery():
    return leads.delivery(app.current_request, services())


@app.route("/deliveries/replay", methods=["POST"], content_types=[http.JSON])
@http.guarded
def replay_deliveries():
    return leads.replay(app.current_request, services())


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
    """Advance enrollments whose wait is due (a large batch fans out to `advance`), turn
    due contact timers (SLAs, reminders, decay, rules) into events, and run due broadcasts."""
    services().tick()


@app.lambda_function(name="sender")
def send_emails(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Fed by the sends queue (the mapping lives in infra/): one record, one email."""
    return sender.handle_batch(event.get("Records", []), services().sender)


@app.lambda_function(name="webhooks")
def deliver_webhooks(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Fed by the webhooks queue (the mapping lives in infra/): one record, one POST."""
    return courier.handle_batch(event.get("Records", []), services().courier)


@app.lambda_function(name="importer")
def import_contacts(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Fed by the imports queue (the mapping lives in infra/): one job per message."""
    return import_desk.handle_batch(event.get("Records", []), services().imports)


@app.lambda_function(name="advance")
def advance(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Fed by the journey-advance queue (the mapping lives in infra/)."""
    return journey_fanout.handle_batch(event.get("Records", []), services().journeys)


if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):  # on AWS: JSON logs, masked, with request ids
    telemetry.configure()
