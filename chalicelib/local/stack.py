"""`make run`: the whole product on one laptop, with ministack as AWS and threads as triggers.

Everything lives under `.leadflow/`: the emulator's tables and queues (`aws/`: every answered
write journaled, a snapshot every 30 s and on Ctrl-C), the outbox, the signing secret and the
admin key, so a restart finds the marketer's contacts, journeys and links where they were.
`leadflow run --fresh` starts empty.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import signal
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chalicelib.local import emulator, gateway, ports, supervisor, webhook_receiver, workers
from chalicelib.messaging.webhook_signature import new_secret
from chalicelib.store import secrets as stored_secrets

log = logging.getLogger(__name__)
# The sample routing's channels (marketing/routing.yaml) all point at the local receiver.
CHANNEL_URLS = {
    "LEADFLOW_CRM_WEBHOOK_URL": "crm",
    "LEADFLOW_SLACK_INBOUND_URL": "slack",
    "LEADFLOW_FEISHU_EMEA_URL": "feishu",
    "LEADFLOW_WECOM_CHINA_URL": "wecom",
    "LEADFLOW_DINGTALK_CHINA_URL": "dingtalk",
    "LEADFLOW_CS_WEBHOOK_URL": "customer-success",
}


def _banner(
    port: int, endpoint: str, key_file: Path, key: str, forms: list[str], hooks: int
) -> str:
    base = f"http://127.0.0.1:{port}"
    first = "whitepaper" if "whitepaper" in forms else (forms[0] if forms else "?")
    lines = [
        "",
        "Leadflow is running (state is kept in .leadflow/ across restarts;"
        " `make run FRESH=1` starts empty).",
        "",
        f"  Start here        {base}/  (every page below, in your browser)",
        f"  Dashboard         {base}/dashboard  (log in with the admin key below)",
        *[f"  Landing page      {base}/forms/{form_id}" for form_id in forms],
        f"  Outbox            {base}/outbox  (every email sent; .eml files in .leadflow/outbox/)",
        f"  Webhooks received http://127.0.0.1:{hooks}/  (the CRM webhook and chat robots)",
        f"  Embedded AWS      {endpoint} (ministack)",
        f"  Health            {base}/health",
        f"  Admin API key     {key}  (saved in {key_file})",
        "",
        "Try it:",
        f"  curl -s -X POST {base}/forms/{first}/submissions \\",
        "       -H 'Content-Type: application/json' \\",
        '       -d \'{"email": "ada@example.com", "first_name": "Ada",'
        ' "company": "Analytical Engines", "consent": true,'
        ' "utm_source": "newsletter", "utm_medium": "email"}\'',
        f"  curl -s '{base}/contacts?email=ada@example.com' -H \"X-Api-Key: $(cat {key_file})\"",
        f"  then open {base}/outbox: the thank-you email is there within seconds.",
        "",
        "A hot lead (senior title, large company, a country we sell to) goes to sales:",
        f"  curl -s -X POST {base}/forms/{first}/submissions \\",
        "       -H 'Content-Type: application/json' \\",
        '       -d \'{"email": "grace@example.com", "first_name": "Grace",'
        ' "company": "Hopper Labs", "job_title": "VP Engineering",'
        ' "company_size": "1000+", "country": "US", "consent": true}\'',
        f"  the owner's email lands in the outbox and the signed webhook at :{hooks}.",
        "",
        "Change marketing/ or templates/, then: ./leadflow validate && ./leadflow publish --local",
        "",
        "Press Ctrl-C to stop.",
    ]
    return "\n".join(lines)


def _local_secrets(state: Path) -> Path:
    """The local stack's secrets file, made once and kept with the local state (git-ignored):
    the link-signing secret, the pepper and the sample robots' secrets. A state made before
    the file existed keeps its signing secret, which was its pepper too, so its links and its
    erasures still hold."""
    path = state / "secrets.json"
    if path.exists():
        return path
    old = state / "signing-secret"
    signing = old.read_text().strip() if old.exists() else secrets.token_urlsafe(32)
    values = {
        "LEADFLOW_SIGNING_SECRET": signing,
        "LEADFLOW_PEPPER": signing if old.exists() else secrets.token_urlsafe(32),
        "LEADFLOW_CRM_WEBHOOK_SECRET": new_secret(),
        "LEADFLOW_DINGTALK_CHINA_SECRET": "SEC" + secrets.token_hex(16),
        "LEADFLOW_FEISHU_EMEA_SECRET": secrets.token_hex(16),
    }
    path.touch(mode=0o600)
    path.write_text(json.dumps(values, indent=2) + "\n")
    return path


def _admin_key(svc: Any, path: Path) -> str:
    """The local admin key: the one saved beside the state while the store still knows it."""
    if path.exists():
        key = path.read_text().strip()
        if svc.api_keys.role_of(key) == "admin":
            return key
    key = svc.api_keys.create("local admin", "admin")
    path.write_text(key + "\n")
    path.chmod(0o600)
    return key


def _aws_health(aws: emulator.Emulator) -> dict[str, Any]:
    if not aws.healthy():
        raise RuntimeError("not answering; the stack restarts it")
    return {"endpoint": aws.endpoint, "pid": aws.pid, "restarts": aws.restarts}


def free_port() -> int:
    """A port for a stack whose API and webhook receiver (port + 25) are both free."""
    return ports.free(0, 25)


def _play_demo(svc: Any, app: Any) -> None:
    """The demo's 60 days, played once: a stack that already holds contacts keeps them."""
    from chalicelib.local import demo

    if svc.contacts.count() > 0 or svc.contacts.scan_page(None, 1)[0]:
        print("The demo is not played over existing contacts: `make demo FRESH=1` starts clean.")
        return
    print(
        f"Playing {demo.DAYS} days of leads, emails and deals (two or three minutes)...", flush=True
    )
    began = time.monotonic()
    story = demo.play(
        app,
        datetime.now(UTC),
        progress=lambda day, s: print(f"  day {day}: {s.contacts} contacts so far", flush=True),
    )
    print(
        f"Demo: {story.contacts} contacts, {story.emails} emails, {story.opens} opens, "
        f"{story.clicks} clicks, {story.deals} deals won in {time.monotonic() - began:.0f} s.",
        flush=True,
    )


def run(
    root: Path,
    port: int = 8000,
    aws_port: int | None = None,
    fresh: bool = False,
    state: Path | None = None,
    demo: bool = False,
) -> int:
    """Serve the stack from `root` (app.py, marketing/) with its state in `state`
    (default `root/.leadflow`) until Ctrl-C."""
    busy = [p for p in (port, port + 25) if not ports.is_free(p)]
    if busy:
        print(
            f"port {busy[0]} is in use: stop what holds it, or run `make run PORT={port + 1}`",
            file=sys.stderr,
        )
        return 1
    workers.configure_process()
    state = state or root / ".leadflow"
    if fresh and state.exists():
        shutil.rmtree(state)
        print(f"Starting fresh: {state} removed.", flush=True)
    state.mkdir(exist_ok=True)
    aws = emulator.start(aws_port, state / "aws")
    endpoint = aws.endpoint
    os.environ.setdefault("LEADFLOW_STAGE", "local")
    os.environ["LEADFLOW_PUBLIC_URL"] = f"http://127.0.0.1:{port}"
    # The sweeper takes events the pipeline has not reached after this long, as on AWS: a
    # burst merely queued behind others is the pipeline's to finish, and processing it twice
    # would slow it further (the journal's replay feeds the stream after a restart).
    os.environ.setdefault("LEADFLOW_SWEEP_GRACE_SECONDS", "120")
    # SES caps an account's send rate (14 a second out of the sandbox); the emulator has none.
    os.environ.setdefault("LEADFLOW_MAX_SEND_RATE", "1000")
    # Every local request comes from this machine: the benches post thousands a minute.
    # Set LEADFLOW_LIMIT_EXEMPT= (empty) to try the forms' limits by hand.
    os.environ.setdefault("LEADFLOW_LIMIT_EXEMPT", "127.0.0.1,::1")
    os.environ.setdefault("LEADFLOW_OUTBOX_DIR", str(state / "outbox"))
    # CloudWatch's metric lines (EMF) mean nothing on this machine: counted nowhere.
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    os.environ.setdefault("LEADFLOW_SECRETS_FILE", str(_local_secrets(state)))
    stored_secrets.load(os.environ)
    hooks_port = port + 25
    os.environ["LEADFLOW_ALLOW_PRIVATE_WEBHOOKS"] = "1"  # the receiver is on localhost
    os.environ.setdefault("LEADFLOW_WEBHOOK_MAX_DELAY_SECONDS", "5")
    for variable, name in CHANNEL_URLS.items():
        os.environ.setdefault(variable, f"http://127.0.0.1:{hooks_port}/hooks/{name}")
    receiver, _ = webhook_receiver.start(
        hooks_port,
        {
            "crm": os.environ["LEADFLOW_CRM_WEBHOOK_SECRET"],
            "dingtalk": os.environ["LEADFLOW_DINGTALK_CHINA_SECRET"],
            "feishu": os.environ["LEADFLOW_FEISHU_EMEA_SECRET"],
        },
    )

    from chalicelib import bootstrap
    from chalicelib.api import health, index
    from chalicelib.content import catalog
    from chalicelib.local import drivers, loop
    from chalicelib.local.provision import provision

    svc = bootstrap.services()
    content = catalog.load(root / "marketing")
    if content.problems:
        print(f"marketing/ has problems:\n{content}", file=sys.stderr)
        for problem in content.problems:
            print(f"  {problem}", file=sys.stderr)
        receiver.shutdown()
        aws.stop()
        return 1
    report = provision(svc, content)
    log.info("published: %s", ", ".join(report.published) or "nothing new")
    key_file = state / "local-admin-key"
    key = _admin_key(svc, key_file)
    (state / "stack.json").write_text(
        json.dumps(
            {
                "endpoint": endpoint,
                "api": port,
                "webhooks": hooks_port,
                "outbox": os.environ["LEADFLOW_OUTBOX_DIR"],
            }
        )
    )

    sys.path.insert(0, str(root))
    from app import app

    if demo:
        _play_demo(svc, app)

    http = gateway.server(app, "127.0.0.1", port)
    stop = threading.Event()
    running = drivers.loops(svc, frozenset({"tick", "sweeper"}))
    pool = workers.start_all(state)
    health.register("embedded_aws", lambda: _aws_health(aws))
    for form_id in sorted(content.forms):
        index.register(index.Link(f"Landing page: {form_id}", f"/forms/{form_id}"))
    index.register(
        index.Link(
            "Webhooks received",
            f"http://127.0.0.1:{hooks_port}/",
            "the CRM webhook and chat robots, as the local receiver got them",
        )
    )
    health.register("drivers", lambda: {lp.name: lp.health() for lp in running})
    for worker in pool:
        health.register(f"worker_{worker.role}", worker.health)
    watcher = threading.Thread(
        target=supervisor.supervise, args=([aws, *pool], stop), name="supervisor", daemon=True
    )
    threads = [
        watcher,
        threading.Thread(target=http.serve_forever, name="api", daemon=True),
        *loop.threads(running, stop),
    ]
    for thread in threads:
        thread.start()
    key_path = Path(os.path.relpath(key_file, root))
    print(
        _banner(port, endpoint, key_path, key, sorted(content.forms), hooks_port),
        flush=True,
    )
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
        print("\nStopping...", flush=True)
    finally:
        stop.set()
        watcher.join(timeout=5)  # no restart of what is being stopped
        workers.stop_all(pool)
        http.shutdown()
        receiver.shutdown()
        aws.stop()
        (state / "stack.json").unlink(missing_ok=True)
    return 0
