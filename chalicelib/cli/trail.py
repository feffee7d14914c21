"""The CLI's entries in the audit log: a command that writes (publish, import, merge, keys,
list members, broadcasts) or reads personal data in bulk (export, contacts list, members,
duplicates) is recorded after it runs, under the machine's user, with its arguments and
exit status. Whoever runs the CLI holds the AWS credentials, so it acts as an admin."""

from __future__ import annotations

import argparse
import getpass
import socket
import sys
from typing import Any

AUDITED = frozenset(
    {
        "publish",
        "import",
        "export",
        "contacts list",
        "contacts duplicates",
        "contacts merge",
        "contacts consent",
        "segments members",
        "segments add",
        "segments remove",
        "segments backfill",
        "broadcasts schedule",
        "broadcasts cancel",
        "keys create",
        "keys revoke",
        "audit",
        "privacy request",
        "privacy fulfil",
    }
)
# Whom a privacy request is about, and a correction's values: never kept in the log.
PERSONAL = ("email", "phone", "set")
GROUPS = ("journeys", "segments", "broadcasts", "contacts", "imports", "keys", "privacy")


def command_of(args: argparse.Namespace) -> str:
    """`keys create`, `import`: the command as typed, without its options."""
    words = [args.command] + [
        getattr(args, group, None) for group in GROUPS if args.command == group
    ]
    return " ".join(w for w in words if isinstance(w, str))


def _arguments(args: argparse.Namespace) -> dict[str, Any]:
    """The options as given, less whom they name: a person named by email (`contacts merge
    ada@...`) is erased one day, and the log is never changed."""
    plain = (str, int, float, bool, type(None))
    return {
        k: "(an email address)" if isinstance(v, str) and "@" in v else v
        for k, v in (
            (k, v if isinstance(v, plain) else str(v))
            for k, v in vars(args).items()
            if k not in ("func", "command", *GROUPS, *PERSONAL)
        )
    }


def record(args: argparse.Namespace, status: int) -> None:
    """Write the entry for a command that ran, if it is audited (a dry run changes nothing)."""
    command = command_of(args)
    if command not in AUDITED or getattr(args, "dry_run", False):
        return
    from chalicelib import bootstrap
    from chalicelib.store.audit import Actor, Entry

    user = getpass.getuser()
    entry = Entry(
        actor=Actor("cli", user, f"{user}@{socket.gethostname()}", "admin"),
        action=f"cli {command}",
        status=status,
        target=str(getattr(args, "file", None) or getattr(args, "name", None) or "") or None,
        source=socket.gethostname(),
        details={"arguments": _arguments(args)},
    )
    try:
        bootstrap.services().audit.record(entry)
    except Exception as exc:  # the command ran; say that its record is missing
        if status == 0:
            print(f"leadflow {command}: not recorded in the audit log ({exc})", file=sys.stderr)
