"""The embedded AWS's own program: ministack on loopback, durable across kill -9.

Run by `emulator.Emulator` with the Python of ministack's virtual environment (`.venv-aws/`,
which pins its own botocore), so this file imports nothing of Leadflow's.

ministack itself saves state only on a clean shutdown. Here, with `--state`, every request
that changed something is appended to a journal before its answer leaves, and a snapshot of
the whole state is written every `--snapshot-every` seconds by a forked copy of the process
(and on shutdown by the process itself); at start the newest complete snapshot is loaded and
the journals after it are replayed, in order. So an answered write survives a kill -9 of this
process: the journal is flushed to the operating system before the answer is sent. ministack
applies DynamoDB, SQS and SES requests on its event loop one at a time, so the journal's order
is the order in which they were applied, and a snapshot forked from the loop is consistent
across tables and queues.

The state folder holds `CURRENT` (the generation number), `gen-N/` (the snapshot, one file per
service in ministack's own format, and `dynamodb.sqlite`, the copy of the tables' database the
DynamoDB file refers to: emulator_disk.py), `journal-N.jsonl` (requests applied after it) and
`tables.sqlite`, the database being worked on, made afresh from the snapshot's at each start.

    .venv-aws/bin/python chalicelib/local/emulator_main.py --port 4566 --state .leadflow/aws
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import contextvars
import copy
import email.utils
import functools
import gc
import hashlib
import json
import marshal
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
import types
import uuid
from pathlib import Path
from typing import Any

import orjson

SERVICES = "dynamodb,dynamodbstreams,sqs,ses,sts,secretsmanager"
# DynamoDB keeps stream records for 24 hours; ministack too, in memory, where a busy local stack
# then grows by gigabytes a day. The drivers read the stream within seconds, and one that fell
# further behind than this starts again from the stream's start and leaves the rest to the
# sweeper, so two minutes is plenty.
STREAM_RETENTION_SECONDS = 120
# ministack keeps a copy of every email SES sent, in memory, for its own inspection API; the
# stack keeps its own outbox on disk, so only the last few are kept.
SENT_MAIL_KEPT = 100
FORGET_EVERY_SECONDS = 10.0
# Operations that change nothing worth keeping: not journaled. (ReceiveMessage only moves a
# message's visibility; after a restart the message is simply visible again, as SQS allows.)
READ_PREFIXES = ("Get", "Describe", "List", "Query", "Scan", "BatchGet", "TransactGet", "Receive")
# Sending an email changes nothing that is kept (see SENT_MAIL_KEPT): replaying one is pointless.
NOT_KEPT = ("SendEmail", "SendRawEmail", "SendBulkEmail")


def _environment(port: int) -> None:
    """ministack reads its settings from the environment when it is imported."""
    os.environ.update(
        GATEWAY_PORT=str(port),
        BIND_HOST="127.0.0.1",
        MINISTACK_REGION="us-east-1",
        SERVICES=SERVICES,
        LOG_LEVEL=os.environ.get("LEADFLOW_EMULATOR_LOG", "WARNING"),
        SFTP_ENABLED="0",
        IOT_MTLS_ENABLED="0",
        PERSIST_STATE="0",  # this program loads and saves, see StateFolder
        AUTH="false",  # Direct does what ministack's path does with authentication off
    )


def _remember_parsed_expressions() -> None:
    """ministack parses each condition, key condition and filter expression again on every
    request, and for every item a query looks at; a third of its DynamoDB time went there.
    Leadflow sends a few dozen distinct expressions, and these functions depend only on the
    expression's text: remember their answers. (The token lists are copied on the way out, so
    a caller that changes one cannot change what is remembered.)"""
    from ministack.services import dynamodb

    original = dynamodb._tokenize
    tokenize = functools.lru_cache(maxsize=4096)(lambda expr: tuple(original(expr)))
    syntax = functools.lru_cache(maxsize=4096)(dynamodb._condition_syntax_error)
    dynamodb._tokenize = lambda expr: list(tokenize(expr))
    dynamodb._condition_syntax_error = syntax


def deep_copy(value: Any, memo: Any = None) -> Any:
    """`copy.deepcopy` for ministack's items, which are plain JSON (dicts, lists, strings,
    numbers, booleans): `marshal` copies those in C, five times faster, into equal values of
    the same types. Anything marshal does not know (a dict subclass, a Decimal) is copied by
    deepcopy, and so is a top-level bytearray (marshal would make it bytes; ministack's items
    hold none)."""
    if isinstance(value, (bytearray, memoryview)):  # marshal would make them bytes
        return copy.deepcopy(value, memo)
    try:
        return marshal.loads(marshal.dumps(value))
    except ValueError:
        return copy.deepcopy(value, memo)


def _copy_items_quickly() -> None:
    """ministack deep-copies an item before and after each change (a transaction's update
    three times): a tenth of its time in a burst, and a quarter of a small transaction's."""
    from ministack.services import dynamodb

    dynamodb.copy = types.SimpleNamespace(**{**vars(copy), "deepcopy": deep_copy})


_AS_THE_STANDARD_LIBRARY = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
"""Values orjson would write and the standard library refuses: passed through, so they raise."""
_SMALL_REQUEST: contextvars.ContextVar[bool] = contextvars.ContextVar("small", default=False)
"""Set by `Direct` for a DynamoDB request whose body is too small to reach the 4 MB
transaction cap however it is written out again."""
_WRITTEN_OUT_AT_MOST = 5
"""More than a JSON body can grow when written out again with Python's defaults: an escaped
character (`\\u00e9`, a surrogate pair for an emoji) is at most three times the UTF-8 bytes
it came as, a compact `,` or `:` becomes `, ` or `: `, and a number grows most of all:
`1e15` is written `1000000000000000.0`, four and a half times as long."""


def _quicken_json() -> None:
    """ministack parses each DynamoDB request with the standard library's JSON, then writes
    every transaction out again whole to measure it against the 4 MB cap: together a fifth of
    its CPU in an import. Requests are parsed with orjson (1.7 times as fast, into the same
    values: a malformed body, or one orjson refuses such as a lone surrogate escape, is
    parsed by the standard library, which then answers as before; an integer beyond 64 bits,
    which no DynamoDB parameter takes, reads as a float). A transaction whose request body is
    under a fifth of the cap is not written out again: it cannot exceed the cap.

    The JSON answers of its services (`json_response` and `error_response_json`: DynamoDB's,
    its streams', SQS's JSON protocol, SES v2's) were written by the standard library too, a
    twentieth of its CPU in a burst of leads; orjson writes them, in UTF-8 as before, without
    the spaces after `,` and `:`. What orjson refuses (an integer beyond 64 bits, a key that
    is not text) or would write where the standard library refuses (a date, a dataclass) is
    left to the standard library; a float that is not a number, which no answer holds, would
    be null, not NaN."""
    from ministack.core import responses
    from ministack.services import dynamodb

    def loads(text: Any, *args: Any, **kwargs: Any) -> Any:
        if not args and not kwargs:
            try:
                return orjson.loads(text)
            except orjson.JSONDecodeError:
                pass
        return json.loads(text, *args, **kwargs)

    def dumps(value: Any, *args: Any, **kwargs: Any) -> str:
        if not args and not kwargs and _SMALL_REQUEST.get() and _is_transaction(value):
            return ""  # only measured, see above
        return json.dumps(value, *args, **kwargs)

    dynamodb.json = types.SimpleNamespace(**{**vars(json), "loads": loads, "dumps": dumps})

    def dumps_answer(value: Any, *args: Any, **kwargs: Any) -> str:
        if not args and kwargs == {"ensure_ascii": False}:
            try:
                return orjson.dumps(value, option=_AS_THE_STANDARD_LIBRARY).decode("utf-8")
            except TypeError:
                pass
        return json.dumps(value, *args, **kwargs)

    responses.json = types.SimpleNamespace(**{**vars(json), "dumps": dumps_answer})


def _is_transaction(value: Any) -> bool:
    return type(value) is dict and "TransactItems" in value


class _Digest:
    """Stands for a transaction's request, kept for ten minutes against a retry with the same
    ClientRequestToken (which botocore sends on every transaction): equal to a request with
    the same content, as the request itself would be."""

    __slots__ = ("value",)

    def __init__(self, request: dict[str, Any]) -> None:
        self.value = _digest(request)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, dict):
            return NotImplemented
        try:
            return _digest(other) == self.value
        except TypeError:  # a request orjson cannot write was never kept as a digest
            return False

    __hash__ = None  # type: ignore[assignment]


def _digest(request: dict[str, Any]) -> bytes:
    return hashlib.sha256(orjson.dumps(request, option=orjson.OPT_SORT_KEYS)).digest()


def _remember_transactions_by_digest() -> None:
    """ministack keeps every transaction's whole request for ten minutes, to tell a retry with
    the same token from a different request: in an import, a hundred items of parsed JSON a
    transaction, hundreds of megabytes that the cycle collector walked again and again. It
    keeps their digest instead (a request orjson cannot write, such as one with an integer
    beyond 64 bits, is kept whole as before). A transaction that asked for no capacity keeps
    no item sizes either: they serve only a same-token retry's capacity, and such a retry,
    being the same request, asks for none. In a steady stream of leads the ten minutes of
    entries were the emulator's largest growth after its tables went to disk."""
    from ministack.services import dynamodb

    store = dynamodb._txn_token_store

    def store_digest(token: Any, entry: dict[str, Any]) -> None:
        signature = entry.get("signature")
        if isinstance(signature, dict):
            with contextlib.suppress(TypeError):
                entry = {**entry, "signature": _Digest(signature)}
            if signature.get("ReturnConsumedCapacity", "NONE") == "NONE":
                entry = {**entry, "sizes": None}
        store(token, entry)

    dynamodb._txn_token_store = store_digest


def _bound_memory() -> None:
    from ministack.services import dynamodb

    dynamodb._STREAM_RETENTION_SECONDS = STREAM_RETENTION_SECONDS


def _light_raw_mail() -> None:
    """ministack parses every raw email whole, to keep its text and HTML for an inspection API
    we never read, and then builds a second MIME copy of it for an SMTP relay we never
    configure: three quarters of what a send cost it. Sender and recipients are all it needs
    to accept or refuse the email as SES would, and they are in the headers."""
    from email.parser import BytesHeaderParser
    from email.policy import default

    from ministack.services import ses, ses_v2

    parser = BytesHeaderParser(policy=default)
    build = ses_v2._build_mime_message

    def headers_only(raw: Any) -> dict[str, Any]:
        data = raw.encode("utf-8") if isinstance(raw, str) else raw
        with contextlib.suppress(Exception):  # else it is raw already, as ministack accepts
            data = base64.b64decode(data)
        try:
            headers = parser.parsebytes(data, headersonly=True)
        except Exception as exc:
            return {"ParseError": str(exc)}
        found = {k: str(headers.get(k, "")) for k in ("From", "To", "Cc", "Bcc", "Subject")}
        return {**found, "ContentType": headers.get_content_type(), "BodyParts": []}

    def build_if_relayed(*args: Any, **kwargs: Any) -> str:
        return build(*args, **kwargs) if ses._parse_smtp_host() else ""

    ses_v2._parse_raw_mime = headers_only
    ses_v2._build_mime_message = build_if_relayed


SET_ASIDE_EVERY_SECONDS = 5.0


def set_aside_survivors() -> None:
    """Collect, then set aside what survived (`gc.freeze`), so that later collections walk
    only what came since. A full collection walks every object the emulator holds, every
    item of every table, and every request waits meanwhile: 380-480 ms in a fresh stack's
    burst, seconds once it holds thousands of leads. Run between requests, when no handler
    holds anything half-built, so what is set aside is what is kept: items, freed by their
    reference counts when deleted as before. (A cycle set aside alive and dropped later would
    never be collected; the emulator's tables hold none.)"""
    gc.collect()
    gc.freeze()


async def _set_aside_periodically() -> None:
    while True:
        await asyncio.sleep(SET_ASIDE_EVERY_SECONDS)
        set_aside_survivors()


async def _forget_sent_mail() -> None:
    from ministack.services import ses

    while True:
        await asyncio.sleep(FORGET_EVERY_SECONDS)
        for sent in ses._sent_emails._data.values():
            if isinstance(sent, list) and len(sent) > SENT_MAIL_KEPT:
                del sent[:-SENT_MAIL_KEPT]


def _operation(method: str, headers: dict[bytes, bytes], body: bytes) -> str:
    target = headers.get(b"x-amz-target", b"").decode("latin-1")
    if target:
        return target.rsplit(".", 1)[-1]
    if body.startswith(b"Action=") or b"&Action=" in body:
        return body.split(b"Action=", 1)[1].split(b"&", 1)[0].decode("latin-1")
    return method


def changes_state(method: str, path: str, headers: dict[bytes, bytes], body: bytes) -> bool:
    if method in ("GET", "HEAD", "OPTIONS") or path.startswith("/_ministack/"):
        return False
    if path.endswith("/outbound-emails") or path.endswith("/outbound-bulk-emails"):
        return False
    operation = _operation(method, headers, body)
    return not operation.startswith(READ_PREFIXES) and operation not in NOT_KEPT


def _number(path: Path) -> int:
    """The generation a `gen-N` folder or `journal-N.jsonl` file belongs to."""
    return int(path.name.split("-", 1)[1].split(".")[0])


class StateFolder:
    """Generations of snapshot + journal in one folder; see the module docstring."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        current = folder / "CURRENT"
        self.generation = int(current.read_text()) if current.exists() else 0
        self.entries = 0
        self.journal_number = self.generation
        self._journal: Any = None
        self._child: int | None = None
        self.disk: Any = None  # emulator_disk.Disk, copied into each snapshot

    def working_tables(self) -> Path:
        """The database the emulator works on, started afresh from the current snapshot's copy
        (what it held beyond that is in the journals, replayed after)."""
        path = self.folder / "tables.sqlite"
        path.unlink(missing_ok=True)
        saved = self.folder / f"gen-{self.generation}" / "dynamodb.sqlite"
        if saved.exists():
            shutil.copyfile(saved, path)
        return path

    def copy_tables(self, generation: int) -> None:
        """A copy of the database as it is now, for the snapshot `generation` (which moves it
        into its folder)."""
        if self.disk is not None:
            self.disk.backup(str(self.folder / f"gen-{generation}.sqlite"))

    def journals(self) -> list[Path]:
        """This generation's journal and any later one (a snapshot that never completed)."""
        found = [p for p in self.folder.glob("journal-*.jsonl") if _number(p) >= self.generation]
        return sorted(found, key=_number)

    def resume_journal(self) -> None:
        """After replay: go on appending to the newest journal (or start this generation's)."""
        journals = self.journals()
        self.open_journal(_number(journals[-1]) if journals else self.generation)

    def open_journal(self, number: int) -> None:
        if self._journal is not None:
            self._journal.close()
        self.journal_number = number
        path = self.folder / f"journal-{number}.jsonl"
        self._journal = open(path, "a", encoding="utf-8")  # noqa: SIM115 (kept open on purpose)

    def append(self, request: dict[str, Any]) -> None:
        self._journal.write(json.dumps(request, separators=(",", ":")) + "\n")
        self._journal.flush()  # in the OS's hands: a kill -9 of this process cannot lose it
        self.entries += 1

    def load(self) -> None:
        """Load the current snapshot. Unlike ministack's own loader, a file that does not load
        stops the start: going on empty would make the next snapshot erase the data."""
        from ministack import app as ministack
        from ministack.core import persistence

        snapshot = self.folder / f"gen-{self.generation}"
        if not snapshot.is_dir():
            return
        persistence.PERSIST_STATE, persistence.STATE_DIR = True, str(snapshot)
        try:
            for state_key, module_name in ministack._state_map.items():
                data = persistence.load_state(state_key)
                if data is None and (snapshot / f"{state_key}.json").exists():
                    raise RuntimeError(f"{snapshot}/{state_key}.json does not load")
                if data:
                    ministack._get_module(module_name).load_persisted_state(data)
        finally:
            persistence.PERSIST_STATE = False

    def capture(self) -> dict[str, Any]:
        """Every service's state, as it is now. A service that cannot report fails the snapshot
        (which then leaves the last one current), rather than being left out of it."""
        from ministack import app as ministack

        state = {}
        for name, get_state in ministack._build_persistence_save_dict().items():
            value = get_state()
            if value is not None:
                state[name] = value
        return state

    def rotate(self) -> int | None:
        """Start a new generation: what was applied up to here belongs to its snapshot, later
        writes to its journal. None when nothing changed or a snapshot is still being made."""
        if self._child is not None or self.entries == 0:
            return None
        generation = self.journal_number + 1
        self.open_journal(generation)
        self.entries = 0
        return generation

    def snapshot(self, generation: int) -> None:
        """Write the state as generation `generation`, switch CURRENT to it, and forget what it
        replaces. Called between two requests, so the state is that of the rotation."""
        from ministack.core import persistence

        folder = self.folder / f"gen-{generation}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        tables = self.folder / f"gen-{generation}.sqlite"
        if tables.exists():
            os.replace(tables, folder / "dynamodb.sqlite")
        for name, value in self.capture().items():
            wrapped = {
                "__ministack_format__": persistence._state_format_version(name),
                "payload": value,
            }
            with open(folder / f"{name}.json", "w", encoding="utf-8") as out:
                json.dump(wrapped, out, default=persistence._json_default)
                out.flush()
                os.fsync(out.fileno())
        current = self.folder / "CURRENT.tmp"
        current.write_text(str(generation))
        os.replace(current, self.folder / "CURRENT")
        for path in [*self.folder.glob("gen-*"), *self.folder.glob("journal-*.jsonl")]:
            if _number(path) >= generation:
                continue
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)

    async def snapshot_in_background(self) -> None:
        """Snapshot from a forked copy of this process, as Redis does: the fork sees the state
        as it is now, between two requests, while this process goes on serving, and copies
        of the tables are made page by page only where they change meanwhile, instead of a
        full copy on the event loop."""
        generation = self.rotate()
        if generation is None:
            return
        self.copy_tables(generation)
        set_aside_survivors()  # and so the collector touches (and copies) no page meanwhile
        pid = os.fork()
        if pid == 0:  # the copy: write, then leave without running anything of the parent's
            _become_snapshot_child()
            status = 1
            try:
                self.snapshot(generation)
                status = 0
            finally:
                os._exit(status)
        self._child = pid
        try:
            _, status = await asyncio.to_thread(os.waitpid, pid, 0)
        finally:
            self._child = None
        if status == 0:
            self.generation = generation
        else:  # CURRENT still names the last good snapshot; its journals are all kept
            print(f"emulator: snapshot {generation} failed (status {status})", file=sys.stderr)


def _become_snapshot_child() -> None:
    """In the forked copy: die with the emulator (an orphan must never write CURRENT after a
    newer process has), and let go of its sockets (the listening one above all, so that a
    restarted emulator can bind the port)."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    keep = {0, 1, 2}
    for fd in range(3, 1024):
        if fd not in keep:
            with contextlib.suppress(OSError):
                os.close(fd)


def _record(scope: dict[str, Any], body: bytes) -> dict[str, Any]:
    return {
        "m": scope["method"],
        "p": scope["path"],
        "q": scope.get("query_string", b"").decode("latin-1"),
        "h": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in scope["headers"]],
        "b": base64.b64encode(body).decode("ascii"),
    }


class Durable:
    """ASGI middleware around ministack: journals state-changing requests, replays at start."""

    def __init__(self, app: Any, store: StateFolder | None) -> None:
        self.app = app
        self.store = store

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, self._lifespan(send))
        elif scope["type"] == "http" and self.store is not None:
            await self._http(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    def _lifespan(self, send: Any) -> Any:
        async def on_send(message: dict[str, Any]) -> None:
            if message["type"] == "lifespan.startup.complete" and self.store is not None:
                self.store.load()
                for journal in self.store.journals():
                    await self._replay(journal)
                self.store.resume_journal()
            if message["type"] == "lifespan.shutdown.complete" and self.store is not None:
                generation = self.store.rotate()
                if generation is not None:
                    from ministack.services import dynamodb

                    with dynamodb._lock:
                        self.store.copy_tables(generation)
                        self.store.snapshot(generation)
            await send(message)

        return on_send

    async def _http(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = await _read_body(receive)
        headers = dict(scope["headers"])
        journaled = changes_state(scope["method"], scope["path"], headers, body)
        delivered = False

        async def replay_body() -> dict[str, Any]:
            nonlocal delivered
            if delivered:
                return await receive()
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def on_send(message: dict[str, Any]) -> None:
            if journaled and message["type"] == "http.response.start" and message["status"] < 300:
                assert self.store is not None
                self.store.append(_record(scope, body))  # before the answer leaves
            await send(message)

        await self.app(scope, replay_body, on_send)

    async def _replay(self, journal: Path) -> None:
        """Apply a journal's requests in order. Its last line may have been cut short by a kill
        (that request was never answered): it is cut off the file, so that lines appended
        after this start begin on a line of their own. A bad line anywhere else stops the
        start: the journal is damaged, and going on would lose what follows it."""
        assert self.store is not None
        lines = journal.read_bytes().split(b"\n")
        offset = 0  # where the line being read starts
        for number, line in enumerate(lines):
            if line:
                try:
                    request = json.loads(line)
                except json.JSONDecodeError:
                    if any(lines[number + 1 :]):
                        raise RuntimeError(f"{journal}:{number + 1} is damaged") from None
                    with open(journal, "r+b") as out:
                        out.truncate(offset)
                    return
                await self._apply(request)
                self.store.entries += 1
            offset += len(line) + 1

    async def _apply(self, request: dict[str, Any]) -> None:
        body = base64.b64decode(request["b"])
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": request["m"],
            "path": request["p"],
            "raw_path": request["p"].encode(),
            "query_string": request["q"].encode("latin-1"),
            "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in request["h"]],
            "scheme": "http",
            "server": ("127.0.0.1", 0),
            "client": ("127.0.0.1", 0),
        }

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            return None

        await self.app(scope, receive, send)


# A JSON request's target prefix -> (ministack's name for the service, its module)
DIRECT_SERVICES = {
    b"DynamoDB_20120810.": ("dynamodb", "dynamodb"),
    b"DynamoDBStreams_20120810.": ("dynamodbstreams", "dynamodb_streams"),
    b"AmazonSQS.": ("sqs", "sqs"),
}


class Direct:
    """ASGI middleware: DynamoDB's, its streams' and SQS's JSON requests go straight to
    ministack's handler of that service.

    ministack's app routes every request through checks for sixty services (S3 virtual
    hosts, presigned URLs, IAM, CloudTrail, CORS headers) before it reaches the service; on
    a small DynamoDB request that took three times the DynamoDB work itself. Here a request
    whose target names one of these services does what that path does for it with
    authentication off: the account and region from the credential, a wait while a reset
    runs, the handler, its content type and request id. Anything else (another service, a
    query string, a compressed body) goes to the app as before."""

    def __init__(self, app: Any) -> None:
        from ministack import app as ministack
        from ministack.core import responses, router

        self.app = app
        self.ministack = ministack
        self.responses = responses
        self.router = router
        self.dynamodb = ministack._get_module("dynamodb")
        self.handlers = {
            prefix: (service, ministack._get_module(module).handle_request)
            for prefix, (service, module) in DIRECT_SERVICES.items()
        }

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        route = _direct_route(scope, self.handlers)
        if route is None:
            return await self.app(scope, receive, send)
        service, handle = route
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        body = await _read_body(receive)
        key = self.router.extract_access_key_id(headers, {})
        if key:
            self.responses.set_request_account_id(key)
        self.responses.set_request_region(self.router.extract_region(headers, {}))
        async with self.ministack._get_reset_lock():
            pass
        small = _SMALL_REQUEST.set(
            len(body) * _WRITTEN_OUT_AT_MOST <= self.dynamodb._DDB_TXN_MAX_BYTES
        )
        try:
            status, out, payload = await handle("POST", "/", headers, body, {})
        except Exception as exc:  # as ministack answers a handler's crash
            print(f"emulator: {service} request failed: {exc!r}", file=sys.stderr)
            status, out = 500, {"Content-Type": "application/json"}
            payload = json.dumps({"__type": "InternalError", "message": str(exc)}).encode()
        finally:
            _SMALL_REQUEST.reset(small)
        self.responses.fix_error_content_type(service, status, out)
        self.responses.fix_success_content_type(service, status, out)
        payload = payload if isinstance(payload, bytes) else payload.encode("utf-8")
        answer = {
            **out,
            "Content-Length": str(len(payload)),
            "Date": email.utils.formatdate(usegmt=True),
            "x-amzn-requestid": str(uuid.uuid4()),
        }
        listed = [
            (k.lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in answer.items()
        ]
        await send({"type": "http.response.start", "status": status, "headers": listed})
        await send({"type": "http.response.body", "body": payload, "more_body": False})


def _direct_route(scope: dict[str, Any], handlers: dict[bytes, Any]) -> Any:
    """The (service, handler) a plain JSON request names in its target, or None."""
    if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != "/":
        return None
    if scope.get("query_string"):
        return None
    target = b""
    for name, value in scope["headers"]:
        lowered = name.lower()
        if lowered == b"content-encoding":
            return None  # a compressed body: ministack's app inflates it
        if lowered == b"x-amz-target":
            target = value
    prefix = target[: target.find(b".") + 1]
    return handlers.get(prefix) if prefix else None


async def _read_body(receive: Any) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _snapshot_periodically(store: StateFolder, every: float) -> None:
    while True:
        await asyncio.sleep(every)
        try:
            await store.snapshot_in_background()
        except Exception as exc:  # keep snapshotting; the journal holds everything meanwhile
            print(f"emulator: snapshot failed: {exc!r}", file=sys.stderr)


async def _watch_parent(parent: int, stop: asyncio.Event) -> None:
    """End with the stack that started us, so a killed stack leaves no server on the port."""
    while os.getppid() == parent:
        await asyncio.sleep(1.0)
    stop.set()


EXPIRE_EVERY_SECONDS = 60.0
"""How often items past their TTL are deleted, as ministack's own reaper did."""


async def _expire_periodically(expire: Any) -> None:
    """Not run for tests on a fake clock (`--no-expiry`): their TTLs, a day after a fake
    January morning, are long past by the wall clock, so a record would go between two
    requests of one test."""
    while True:
        await asyncio.sleep(EXPIRE_EVERY_SECONDS)
        expire(time.time())


def _tables(store: StateFolder | None) -> Any:
    """The database of DynamoDB's items: the state folder's working copy, started from the
    current snapshot's; without a state folder, a file of its own, gone when the emulator is."""
    import emulator_disk

    if store is not None:
        disk = emulator_disk.Disk(str(store.working_tables()))
        store.disk = disk
        return disk
    handle, path = tempfile.mkstemp(prefix="leadflow-tables-", suffix=".sqlite")
    os.close(handle)
    disk = emulator_disk.Disk(path)
    os.unlink(path)  # open until the process ends, which removes it, even a kill -9
    return disk


async def serve(
    port: int,
    store: StateFolder | None,
    snapshot_every: float,
    parent: int | None,
    expire: bool = True,
) -> None:
    import emulator_disk  # beside this file: run as a script, its folder is on the path
    import emulator_ranges
    import emulator_sizes
    import emulator_writes
    from ministack import app as ministack

    _remember_parsed_expressions()
    _copy_items_quickly()
    _quicken_json()
    _remember_transactions_by_digest()
    _bound_memory()
    _light_raw_mail()
    expire_items = emulator_disk.install(_tables(store))
    emulator_ranges.install()
    emulator_sizes.install()
    emulator_writes.install()  # after emulator_sizes: it wraps the item size
    server = _server(Durable(Direct(ministack.app), store), port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    tasks = [
        asyncio.create_task(_forget_sent_mail()),
        asyncio.create_task(_set_aside_periodically()),
    ]
    if store is not None:
        tasks.append(asyncio.create_task(_snapshot_periodically(store, snapshot_every)))
    if expire:
        tasks.append(asyncio.create_task(_expire_periodically(expire_items)))
    if parent:
        tasks.append(asyncio.create_task(_watch_parent(parent, stop)))

    async def stop_when_asked() -> None:
        await stop.wait()
        server.should_exit = True

    tasks.append(asyncio.create_task(stop_when_asked()))
    try:
        # The port is bound before the state is loaded: a second emulator started on a
        # state folder whose port is taken must fail before its lifespan can snapshot (and
        # prune) the state the first one is writing.
        await server.serve(sockets=[_bound(port)])
    finally:
        for task in tasks:
            task.cancel()


def _bound(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.set_inheritable(True)
    return sock


class OneSend:
    """A transport that sends what one turn of the loop wrote to it in one go.

    uvicorn writes an answer's status line and headers, then its body: two sends, and two
    wake-ups of the client waiting on its socket, each on this virtual machine a trip through
    the hypervisor. Written in the same turn (nothing in between waits), they now leave
    together at the end of it, as one segment. What ends or bypasses the stream (closing, an
    end of writing, an abort) sends or drops what is held first, so nothing overtakes it;
    everything else is the transport's own."""

    __slots__ = ("_loop", "_pending", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(bytes(data))  # a buffer changed after writing must not change it

    def writelines(self, lines: Any) -> None:
        for data in lines:
            self.write(data)

    def flush(self) -> None:
        """Send what is held now (the client ended its side: the transport closes after)."""
        pending, self._pending = self._pending, []
        if pending and not self._transport.is_closing():
            self._transport.write(b"".join(pending))

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(map(len, self._pending))

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._pending = []
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # not yet set (a copy): no forwarding, no recursion
            raise AttributeError(name)
        return getattr(self._transport, name)


def _server(app: Any, port: int) -> Any:
    """uvicorn on httptools and uvloop, not ministack's own Hypercorn: its HTTP and loop are
    pure Python, and took three quarters of the emulator's time on a small request. One
    process, one loop, as before: requests are still applied one at a time. Signals stay
    `serve`'s (its stop event), so uvicorn is kept from taking them. Each connection's
    writes go out once a turn (`OneSend`)."""
    import uvicorn
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class Protocol(HttpToolsProtocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(OneSend(transport, self.loop))  # type: ignore[arg-type]

        def eof_received(self) -> None:
            # The loop closes the transport itself after this: what is held goes first.
            self.transport.flush()  # type: ignore[attr-defined]
            return super().eof_received()

    class Server(uvicorn.Server):
        def capture_signals(self) -> contextlib.AbstractContextManager[None]:
            return contextlib.nullcontext()

    return Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            loop="none",  # main() runs the loop: uvloop's
            http=Protocol,
            lifespan="on",
            access_log=False,
            log_level="warning",
            timeout_keep_alive=75,
            timeout_graceful_shutdown=5,
            proxy_headers=False,
            server_header=False,
            date_header=False,  # ministack writes its own
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--state", type=Path, help="folder to keep state in (none: memory)")
    parser.add_argument("--snapshot-every", type=float, default=30.0)
    parser.add_argument("--parent", type=int)
    parser.add_argument("--no-expiry", action="store_true", help="keep items past their TTL")
    args = parser.parse_args()
    _environment(args.port)
    store = StateFolder(args.state) if args.state else None
    import uvloop

    # The emulator holds every item as Python dicts, and each request parses and copies
    # thousands more. Items are plain trees, freed by their reference counts; the few cycles
    # (an exception's frames, a finished request's objects) wait for the collection every
    # few seconds (`set_aside_survivors`), which walks what came since, once. Automatic
    # collections walked each survivor twice more on its way there (young, then middle): in a
    # 20,000-row import, 0.93 s of collections in 13 s (a middle one alone 0.24 s, every
    # request waiting), against 0.48 s without them.
    gc.disable()
    uvloop.run(serve(args.port, store, args.snapshot_every, args.parent, not args.no_expiry))


if __name__ == "__main__":
    main()
