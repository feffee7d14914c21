"""The `leadflow` command: run the local stack; validate, simulate, graph and publish content;
segments, broadcasts and keys."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from chalicelib import roles
from chalicelib.cli import trail
from chalicelib.conditions import durations
from chalicelib.errors import ContentError, LeadflowError


def _use_local_stack(root: Path) -> None:
    """Point AWS clients at a running `make run` stack, when asked with --local."""
    state = root / ".leadflow" / "stack.json"
    if not state.exists():
        sys.exit("no local stack is running (start it with `make run`)")
    from chalicelib.local.emulator import point_clients_at

    os.environ.setdefault("LEADFLOW_STAGE", "local")
    os.environ.setdefault("LEADFLOW_SECRETS_FILE", str(root / ".leadflow" / "secrets.json"))
    os.environ.setdefault("LEADFLOW_OUTBOX_DIR", str(root / ".leadflow" / "outbox"))
    point_clients_at(json.loads(state.read_text())["endpoint"])


def _secrets_of_the_stage(args: argparse.Namespace) -> bool:
    """Against AWS, the stage's secrets by their names, as its functions read them (the
    pepper above all: an erasure from this machine marks the person as the API checks)."""
    known = ("LEADFLOW_SECRETS_ARN", "LEADFLOW_SECRETS_FILE", "AWS_ENDPOINT_URL")
    local = getattr(args, "local", False) or args.command == "run"  # run: its own file
    if local or any(os.environ.get(name) for name in known):
        return False
    from chalicelib.store.secrets import default_ids

    os.environ["LEADFLOW_SECRETS_ARN"] = default_ids(os.environ.get("LEADFLOW_STAGE", "dev"))
    return True


def cmd_run(args: argparse.Namespace) -> int:
    from chalicelib.local import stack

    return stack.run(
        Path.cwd(),
        port=args.port,
        aws_port=args.aws_port,
        fresh=args.fresh,
        state=args.state,
        demo=args.demo,
    )


def cmd_validate(args: argparse.Namespace) -> int:
    from chalicelib.content import catalog

    content = catalog.load(Path(args.path))
    for problem in content.problems:
        print(problem, file=sys.stderr)
    if content.problems:
        print(f"{len(content.problems)} problem(s) in {content.files} file(s)", file=sys.stderr)
        return 1
    print(
        f"ok: {content.files} file(s), {len(content.forms)} form(s), "
        f"{len(content.journeys)} journey(s), {len(content.segments)} segment(s), "
        f"{len(content.broadcasts)} broadcast(s)"
    )
    return 0


def _contact_arg(value: str) -> dict:
    """--contact takes a JSON object or the path of a JSON file."""
    text = Path(value).read_text(encoding="utf-8") if Path(value).is_file() else value
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"--contact: not JSON nor a JSON file: {exc}") from exc
    if not isinstance(data, dict):
        raise argparse.ArgumentTypeError("--contact: give a JSON object of contact fields")
    return data


def cmd_simulate(args: argparse.Namespace) -> int:
    from datetime import datetime

    from chalicelib.local.simulation import Scripted, ScriptError, Simulation, render

    try:
        script = [Scripted.parse(text) for text in args.event]
    except (ScriptError, ValueError) as exc:
        print(exc, file=sys.stderr)
        return 2
    start = datetime.fromisoformat(args.start) if args.start else None
    if start is not None and start.tzinfo is None:
        print("--start needs a time zone, like 2026-01-05T09:00+01:00", file=sys.stderr)
        return 2
    try:
        result = Simulation(Path(args.path), start).run(
            args.journey, args.contact, script, args.days
        )
    except ContentError as exc:
        print(exc, file=sys.stderr)
        return 1
    except LookupError as exc:
        print(exc, file=sys.stderr)
        return 1
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(render(result), end="")
    return 0


def cmd_graph(args: argparse.Namespace) -> int:
    from chalicelib.content import catalog
    from chalicelib.journeys.graph import mermaid

    content = catalog.load(Path(args.path))
    journey = content.journeys.get(args.journey)
    if journey is None:
        for problem in content.problems:
            print(problem, file=sys.stderr)
        print(f"no valid journey {args.journey!r} in {args.path}", file=sys.stderr)
        return 1
    print(mermaid(journey), end="")
    return 0


def cmd_preview(args: argparse.Namespace) -> int:
    import yaml

    from chalicelib.messaging import compiler
    from chalicelib.messaging.renderer import MissingValue, Renderer

    root = Path(args.templates)
    brand_file = root / "brand.yaml"
    brand = yaml.safe_load(brand_file.read_text(encoding="utf-8")) if brand_file.exists() else {}
    try:
        email = compiler.compile_template(root, args.template, brand)
        context = {
            "contact": args.contact,
            "subject": args.subject or args.template,
            "unsubscribe_url": "https://example.com/unsubscribe/preview",
            "assets_url": "http://127.0.0.1:8000/assets",
        }
        rendered = Renderer().render(email, context)
    except (compiler.TemplateProblem, MissingValue) as exc:
        print(exc, file=sys.stderr)
        return 1
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = args.template.replace("/", "-")
    (out / f"{stem}.html").write_text(rendered.html, encoding="utf-8")
    (out / f"{stem}.txt").write_text(rendered.text, encoding="utf-8")
    print(f"wrote {out / stem}.html and {out / stem}.txt")
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from chalicelib.journeys.language import json_schema

    print(json.dumps(json_schema(), indent=2, ensure_ascii=False))
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    from chalicelib import bootstrap
    from chalicelib.content import catalog
    from chalicelib.services import publisher

    if args.local:
        _use_local_stack(Path.cwd())
    content = catalog.load(Path(args.path))
    try:
        report = publisher.publish(content, bootstrap.services().content)
    except ContentError as exc:
        print(exc, file=sys.stderr)
        return 1
    for name in report.published:
        print(f"published {name}")
    print(f"{len(report.published)} published, {len(report.unchanged)} unchanged")
    backfill(bootstrap.services(), report.segments)
    return 0


def backfill(svc, segments: dict[str, int]) -> None:
    """Backfill new segment versions over every contact in one pass: a progress bar on a
    terminal (gone when done), then one line per segment."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    if not segments:
        return
    console = Console(stderr=True)
    columns = (TextColumn("backfill {task.description}"), BarColumn(), MofNCompleteColumn())
    names = ", ".join(f"{s} v{v}" for s, v in sorted(segments.items()))
    with Progress(
        *columns, console=console, transient=True, disable=not console.is_terminal
    ) as bar:
        task = bar.add_task(names, total=svc.contacts.count())
        done = svc.segmenter.backfill(
            segments, svc.contacts.all_ids, lambda n: bar.update(task, completed=n)
        )
    if done.resumed:
        print(f"resumed after the {done.resumed} contact(s) an interrupted backfill had done")
    for segment_id in sorted(segments):
        print(f"segment {segment_id}: {svc.members.size(segment_id)} member(s)")
    print(f"backfilled {len(segments)} segment(s): {done.moved} moved")


def _segment(svc, name: str):
    book = svc.segments.book()
    segment = book.segments.get(name) if book else None
    if segment is None:
        known = ", ".join(sorted(book.segments)) if book else "none is published"
        raise SystemExit(f"leadflow segments: no segment {name!r} ({known})")
    return segment


def _contact_id(svc, who: str) -> str:
    from chalicelib.leads import normalise

    if who.startswith("ct_"):
        return who
    try:
        found = svc.contacts.find_by_email(who)
    except normalise.InvalidValue as exc:
        message = f"leadflow segments: {who!r} is neither a contact id nor an email: {exc}"
        raise SystemExit(message) from None
    if found is None:
        raise SystemExit(f"leadflow segments: no contact with the email {who!r}")
    return found


def cmd_segments(args: argparse.Namespace) -> int:
    from chalicelib import bootstrap, ids
    from chalicelib.api.segments import CURSOR

    if args.segments == "schema":
        from chalicelib.segments.language import json_schema

        print(json.dumps(json_schema(), indent=2, ensure_ascii=False))
        return 0
    if args.local:
        _use_local_stack(Path.cwd())
    svc = bootstrap.services()
    if args.segments == "list":
        book = svc.segments.book()
        for segment in book.segments.values() if book else ():
            kind = "list" if segment.static else "dynamic"
            size = svc.members.size(segment.id)
            print(f"{segment.id:24} {kind:8} {size:>8}  {segment.name}")
        return 0
    segment = _segment(svc, args.name)
    if args.segments == "count":
        print(svc.members.size(segment.id))
    elif args.segments == "members":
        if not 1 <= args.limit <= 500:
            raise SystemExit("leadflow segments members: --limit must be from 1 to 500")
        if args.after is not None and not CURSOR.fullmatch(args.after):
            raise SystemExit(
                "leadflow segments members: --after takes the cursor a previous page printed"
            )
        members, after = svc.members.page(segment.id, args.limit, args.after)
        if not members:
            print(f"{segment.id} has no members" + (" after that cursor" if args.after else ""))
        for member in members:
            contact = svc.contacts.get(member.contact_id) or {}
            entered = f"{member.entered_at:%Y-%m-%d %H:%M}"
            print(f"{member.contact_id}  {contact.get('email') or '-':32} since {entered}")
        if after:
            print(f"more: --after {after}")
    elif args.segments == "explain":
        contact = svc.contacts.get(_contact_id(svc, args.contact))
        if contact is None:
            raise SystemExit(f"leadflow segments: no contact {args.contact!r}")
        why = svc.segmenter.explain(segment, contact, svc.clock.now())
        who = contact.get("email") or contact["id"]
        if segment.static:
            print(f"{who} is {'on' if why.inside else 'not on'} the list {segment.id}")
        else:
            state = "in" if why.inside else "not in"
            verdict = "holds" if why.holds else "does not hold"
            print(f"{who} is {state} {segment.id}: the condition {verdict}: {why.reason}")
    elif args.segments in ("add", "remove"):
        contact_id = _contact_id(svc, args.contact)
        cause = ids.event_id(svc.clock.now())
        try:
            done = svc.segmenter.change_list(
                segment, contact_id, args.segments == "add", "cli", cause
            )
        except (ValueError, LeadflowError) as exc:
            raise SystemExit(f"leadflow segments {args.segments}: {exc}") from None
        if args.segments == "add":
            said = "added to" if done else "was already on"
        else:
            said = "removed from" if done else "was not on"
        print(f"{args.contact} {said} {segment.id}")
    elif args.segments == "backfill":
        backfill(svc, {segment.id: svc.segments.live_versions().get(segment.id, 0)})
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from datetime import datetime, timedelta

    from chalicelib import bootstrap
    from chalicelib.store.audit import Wanted

    if args.local:
        _use_local_stack(Path.cwd())
    svc = bootstrap.services()
    now = svc.clock.now()
    try:
        since, until = (
            datetime.fromisoformat(v).replace(tzinfo=now.tzinfo) if v else None
            for v in (args.since, args.until)
        )
    except ValueError:
        print("leadflow audit: --since and --until take an ISO date (2026-11-01)", file=sys.stderr)
        return 2
    wanted = Wanted(
        since=since or now - timedelta(days=30),
        until=until + timedelta(days=1) if until else now,
        actor=args.actor,
        action=args.action,
        refused=args.refused,
    )
    entries = svc.audit.read(wanted, args.limit)
    if args.json:
        print(json.dumps([e.as_dict() for e in entries], indent=2, default=str, ensure_ascii=False))
        return 0
    for e in entries:
        who = f"{e.actor.kind}:{e.actor.name or e.actor.id} ({e.actor.role})"
        when = f"{e.at:%Y-%m-%d %H:%M:%S}" if e.at else "?"
        print(f"{when}  {e.status}  {who}  {e.action}  {e.target or ''}  {e.source or ''}")
    print(f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'}")
    return 0


def cmd_keys_list(args: argparse.Namespace) -> int:
    from chalicelib import bootstrap

    if args.local:
        _use_local_stack(Path.cwd())
    found = bootstrap.services().api_keys.list()
    if args.json:
        print(json.dumps(found, indent=2, default=str, ensure_ascii=False))
        return 0
    for k in found:
        until = f" until {k['expires_at']:%Y-%m-%d %H:%M}" if k["expires_at"] else ""
        owner = f" ({k['owner'] or k['team']})" if k["owner"] or k["team"] else ""
        print(f"{k['id']}  {k['status']:8} {k['role']:13} {k['name']}{owner}{until}")
    print(f"{len(found)} key(s)")
    return 0


def cmd_keys_revoke(args: argparse.Namespace) -> int:
    from chalicelib import bootstrap

    if args.local:
        _use_local_stack(Path.cwd())
    if not bootstrap.services().api_keys.revoke(args.id):
        print(
            f"leadflow keys revoke: no active key {args.id!r} (see leadflow keys list)",
            file=sys.stderr,
        )
        return 1
    print(f"revoked {args.id}: refused from now on (within a minute by running processes)")
    return 0


def cmd_keys_create(args: argparse.Namespace) -> int:
    from chalicelib import bootstrap

    if args.local:
        _use_local_stack(Path.cwd())
    svc = bootstrap.services()
    routing = svc.leads.routing()
    if args.owner and routing is not None and routing.owner(args.owner) is None:
        known = ", ".join(m.id for t in routing.teams for m in t.members)
        print(
            f"leadflow keys create: no owner {args.owner!r} in routing.yaml ({known})",
            file=sys.stderr,
        )
        return 2
    if args.team and routing is not None and args.team not in {t.id for t in routing.teams}:
        known = ", ".join(t.id for t in routing.teams)
        print(
            f"leadflow keys create: no team {args.team!r} in routing.yaml ({known})",
            file=sys.stderr,
        )
        return 2
    expires = None
    try:
        if args.expires_in:
            expires = svc.clock.now() + durations.parse(args.expires_in)
        key = svc.api_keys.create(args.name, args.role, args.owner, expires, args.team)
    except ValueError as exc:
        print(f"leadflow keys create: {exc}", file=sys.stderr)
        return 2
    print(key)
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="leadflow", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="start the local stack (what `make run` does)")
    run.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8000)))
    run.add_argument("--aws-port", type=int, default=None, help="the embedded AWS's port")
    run.add_argument(
        "--fresh", action="store_true", help="forget the state (contacts, outbox, keys) first"
    )
    run.add_argument("--state", type=Path, help="where state is kept (default .leadflow/)")
    run.add_argument(
        "--demo",
        action="store_true",
        help="first play 60 days of leads, emails and deals, so the dashboard has numbers",
    )
    run.set_defaults(func=cmd_run)
    validate = sub.add_parser("validate", help="check marketing content; exit 1 on any problem")
    validate.add_argument("path", nargs="?", default="marketing")
    validate.set_defaults(func=cmd_validate)
    simulate = sub.add_parser(
        "simulate", help="run a journey for one contact on a fake clock and print its timeline"
    )
    simulate.add_argument("journey")
    simulate.add_argument(
        "--contact", type=_contact_arg, default={}, help="JSON object or file of contact fields"
    )
    simulate.add_argument(
        "--event",
        action="append",
        default=[],
        help="what the contact does, e.g. '2d email_clicked step=case-study' (repeatable)",
    )
    simulate.add_argument("--days", type=float, default=30.0)
    simulate.add_argument("--start", help="ISO time to start at (default: now)")
    simulate.add_argument("--path", default="marketing")
    simulate.set_defaults(func=cmd_simulate)
    preview = sub.add_parser("preview", help="render an email template for one contact to files")
    preview.add_argument("template", help="a template name, e.g. playbook-thank-you")
    preview.add_argument("--contact", type=_contact_arg, default={})
    preview.add_argument("--subject")
    preview.add_argument("--templates", default="templates")
    preview.add_argument("--out", default=".leadflow/preview")
    preview.set_defaults(func=cmd_preview)
    journeys = sub.add_parser("journeys", help="journey tools").add_subparsers(
        dest="journeys", required=True
    )
    graph = journeys.add_parser("graph", help="print a journey as a Mermaid flowchart")
    graph.add_argument("journey")
    graph.add_argument("--path", default="marketing")
    graph.set_defaults(func=cmd_graph)
    schema = journeys.add_parser("schema", help="print the JSON Schema of journey files")
    schema.set_defaults(func=cmd_schema)
    publish = sub.add_parser("publish", help="validate, then store a new version of content")
    publish.add_argument("path", nargs="?", default="marketing")
    publish.add_argument("--local", action="store_true", help="publish to the running local stack")
    publish.set_defaults(func=cmd_publish)
    segments = sub.add_parser("segments", help="segments and lists").add_subparsers(
        dest="segments", required=True
    )
    for name, what in (
        ("list", "every published segment, its kind and size"),
        ("count", "how many contacts are in a segment"),
        ("members", "who is in a segment, a page at a time"),
        ("explain", "whether a contact is in a segment, and why"),
        ("add", "add a contact to a static list"),
        ("remove", "take a contact off a static list"),
        ("backfill", "evaluate a segment for every contact again"),
        ("schema", "print the JSON Schema of segment files"),
    ):
        command = segments.add_parser(name, help=what)
        if name not in ("list", "schema"):
            command.add_argument("name", help="the segment (its file name)")
        if name in ("explain", "add", "remove"):
            command.add_argument("contact", help="an email address or a contact id")
        if name == "members":
            command.add_argument("--limit", type=int, default=50)
            command.add_argument("--after", help="the cursor a previous page printed")
        command.add_argument("--local", action="store_true", help="the running local stack")
        command.set_defaults(func=cmd_segments)
    from chalicelib.cli import broadcasts, contacts, privacy, reports

    broadcasts.register(sub)
    contacts.register(sub)
    contacts.register_contacts(sub)
    reports.register(sub)
    privacy.register(sub)
    audit = sub.add_parser("audit", help="the audit log: who did what, when, from where")
    audit.add_argument("--since", help="from this ISO date (default: 30 days ago)")
    audit.add_argument("--until", help="to this ISO date, inclusive (default: now)")
    audit.add_argument("--actor", help="one key id or name, or the CLI's user")
    audit.add_argument("--action", help='actions starting with this ("POST /keys", "cli")')
    audit.add_argument("--refused", action="store_true", help="only what was refused (4xx)")
    audit.add_argument("--limit", type=int, default=100, help="at most this many (100)")
    audit.add_argument("--json", action="store_true", help="print JSON")
    audit.add_argument("--local", action="store_true")
    audit.set_defaults(func=cmd_audit)
    keys = sub.add_parser("keys", help="admin API keys").add_subparsers(dest="keys", required=True)
    create = keys.add_parser("create", help="create a key and print it once")
    create.add_argument("--name", required=True)
    create.add_argument("--role", default="admin", choices=roles.ROLES)
    create.add_argument(
        "--owner", help="for a sales key: the owner id (routing.yaml) whose leads it works"
    )
    create.add_argument(
        "--team", help="for a sales_manager key: the team id (routing.yaml) whose leads it sees"
    )
    create.add_argument("--expires-in", help="refuse the key after this long (90d, 12h)")
    create.add_argument("--local", action="store_true")
    create.set_defaults(func=cmd_keys_create)
    listing = keys.add_parser("list", help="every key: id, name, role, status (never the key)")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.add_argument("--local", action="store_true")
    listing.set_defaults(func=cmd_keys_list)
    revoke = keys.add_parser("revoke", help="refuse a key from now on")
    revoke.add_argument("id", help="the key's id, as keys list shows it")
    revoke.add_argument("--local", action="store_true")
    revoke.set_defaults(func=cmd_keys_revoke)
    return p


def _aws_trouble(exc: BaseException, local: bool) -> str | None:
    """What to do when AWS could not be used at all, in one line; None for anything else."""
    from botocore.exceptions import (
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
        PartialCredentialsError,
    )

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, NoCredentialsError | PartialCredentialsError):
            return (
                "no AWS credentials. For the local stack, start `make run` and add --local; "
                "for AWS, set AWS_PROFILE or AWS_ACCESS_KEY_ID (docs/deployment.md)"
            )
        if isinstance(current, NoRegionError):
            return "no AWS region: set AWS_REGION (docs/deployment.md)"
        if isinstance(current, EndpointConnectionError):
            if local:
                return "the local stack does not answer: is `make run` still running?"
            where = current.kwargs.get("endpoint_url")
            return f"cannot reach {where}: check the network, AWS_REGION and AWS_ENDPOINT_URL"
        if isinstance(current, ClientError):
            code = current.response.get("Error", {}).get("Code", "")
            if code == "ResourceNotFoundException":
                stage = os.environ.get("LEADFLOW_STAGE", "dev")
                return (
                    f"stage {stage!r} has no Leadflow tables in this account and region: deploy "
                    "it first (docs/deployment.md), or add --local for the `make run` stack"
                )
            if code in ("UnrecognizedClientException", "InvalidClientTokenId", "ExpiredToken"):
                return f"AWS refused the credentials ({code}): check AWS_PROFILE or the keys"
            return None
        current = getattr(current, "cause", None) or current.__cause__ or current.__context__
    return None


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    named = _secrets_of_the_stage(args)
    try:
        status = args.func(args)
        trail.record(args, status)
        return status
    except BrokenPipeError:  # `leadflow journeys schema | head`: the reader has had enough
        sys.stderr.close()
        return 0
    except Exception as exc:
        trouble = _aws_trouble(exc, getattr(args, "local", False))
        if trouble is None:
            raise
        print(f"leadflow {trail.command_of(args)}: {trouble}", file=sys.stderr)
        return 1
    finally:
        if named:  # main() may run again in this process (tests), for another stage
            os.environ.pop("LEADFLOW_SECRETS_ARN", None)
