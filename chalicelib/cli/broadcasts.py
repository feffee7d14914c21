"""`leadflow broadcasts list|preview|schedule|cancel|status|schema`: a newsletter from the
terminal, against AWS or (with --local) the running `make run` stack."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from chalicelib.errors import LeadflowError


def register(sub: argparse._SubParsersAction) -> None:
    commands = sub.add_parser("broadcasts", help="one-off emails to a segment").add_subparsers(
        dest="broadcasts", required=True
    )
    for name, what in (
        ("list", "every published broadcast and where its run is"),
        ("preview", "who would get which variant when, and who is skipped; sends nothing"),
        ("schedule", "schedule the published broadcast (at its send_at, or --at)"),
        ("cancel", "stop a broadcast: nothing more of it is sent"),
        ("status", "a run's progress and what its emails did, per variant"),
        ("schema", "print the JSON Schema of broadcast files"),
    ):
        command = commands.add_parser(name, help=what)
        if name not in ("list", "schema"):
            command.add_argument("name", help="the broadcast (its file name)")
        if name in ("preview", "schedule"):
            command.add_argument(
                "--at",
                help="instead of send_at: an ISO time (local, without offset, for local_time), "
                "or now",
            )
        if name in ("list", "preview", "status"):
            command.add_argument("--json", action="store_true", help="print JSON")
        command.add_argument("--local", action="store_true", help="the running local stack")
        command.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from chalicelib import bootstrap
    from chalicelib.cli import _use_local_stack

    if args.broadcasts == "schema":
        from chalicelib.broadcasts.language import json_schema

        print(json.dumps(json_schema(), indent=2, ensure_ascii=False))
        return 0
    if args.local:
        _use_local_stack(Path.cwd())
    broadcaster = bootstrap.services().broadcasts
    try:
        if args.broadcasts == "list":
            found = broadcaster.list()
            _print(args, found, _list_text)
        elif args.broadcasts == "preview":
            preview = broadcaster.preview(args.name, args.at).as_dict()
            _print(args, {"id": args.name, **preview}, _preview_text)
        elif args.broadcasts == "schedule":
            state = broadcaster.schedule(args.name, args.at, "cli")
            print(f"scheduled {args.name} v{state['version']}: {_when(state)}")
        elif args.broadcasts == "cancel":
            broadcaster.cancel(args.name)
            print(
                f"cancelled {args.name}: no wave still to come is sent, and emails still "
                "on the queue are skipped"
            )
        else:
            _print(args, broadcaster.status(args.name), _status_text)
    except LeadflowError as exc:
        print(f"leadflow broadcasts {args.broadcasts}: {exc}", file=sys.stderr)
        return 1
    return 0


def _print(args: argparse.Namespace, body: Any, text) -> None:
    print(json.dumps(body, indent=2, ensure_ascii=False) if args.json else text(body))


def _time(iso: str) -> str:
    at = datetime.fromisoformat(iso)
    return f"{at:%Y-%m-%d %H:%M}" + (" UTC" if at.utcoffset() is not None else "")


def _when(state: dict[str, Any]) -> str:
    starts = _time(state["starts_at"])
    return f"send_at {state['send_at']}, starts {starts}"


def _list_text(found: list[dict[str, Any]]) -> str:
    if not found:
        return "no broadcast is published (add marketing/broadcasts/*.yaml and publish)"
    return "\n".join(
        f"{b['id']:24} {b['status']:10} {b['audience'] or '-':20} {b['send_at']}  {b['name']}"
        for b in found
    )


def _preview_text(preview: dict[str, Any]) -> str:
    sends = sum(preview["sends"].values())
    lines = [f"{preview['id']}: {preview['audience']} in the audience, {sends} to send"]
    for variant, n in preview["sends"].items():
        label = "the rest (the winner)" if variant == "winner" else f"variant {variant}"
        lines.append(f"  {label:24} {n:>8}")
    for reason, n in preview["skipped"].items():
        lines.append(f"  skipped: {reason:15} {n:>8}")
    for wave, n in list(preview["waves"].items())[:24]:
        lines.append(f"  at {_time(wave):21} {n:>8}")
    if len(preview["waves"]) > 24:
        lines.append(f"  ... {len(preview['waves']) - 24} more waves (--json lists them all)")
    if preview.get("untested"):
        lines.append(
            f"  no one falls in the test's share of so small an audience: everyone gets the "
            f"first variant, {preview['untested']}, when the test is judged"
        )
    return "\n".join(lines)


def _status_text(state: dict[str, Any]) -> str:
    lines = [f"{state['id']} v{state['version']}: {state['status']} ({state['name']})"]
    if state["status"] == "draft":
        lines.append(f"  not scheduled; send_at {state['send_at']}")
        return "\n".join(lines)
    waves = state["waves"]
    lines.append(f"  {_when(state)}, by {state['scheduled_by']}")
    lines.append(
        f"  planned {state['planned']} email(s) in {len(waves)} wave(s), "
        f"{len(state['released'])} handed to the queue"
    )
    for wave, n in sorted(waves.items())[:12]:
        when = "handed to the queue" if wave in state["released"] else "waits"
        lines.append(f"    {_time(wave)}  {n:>8}  {when}")
    lines.append(f"  {'variant':16} {'sent':>8} {'opened':>14} {'clicked':>14}")
    for variant, n in state["variants"].items():
        lines.append(
            f"  {variant:16} {n['sent']:>8} {_rate(n['opened'], n['sent']):>14} "
            f"{_rate(n['clicked'], n['sent']):>14}"
        )
    if state.get("winner"):
        lines.append(f"  winner {state['winner']}: {state['winner_reason']}")
    for reason, n in state["skipped"].items():
        lines.append(f"  skipped: {reason} {n}")
    if state["failed"]:
        lines.append(f"  failed: {state['failed']}")
    return "\n".join(lines)


def _rate(hits: int, sent: int) -> str:
    return f"{hits} ({hits / sent:.1%})" if sent else str(hits)
