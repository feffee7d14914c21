"""The local outbox: every message SES accepted, also kept as an .eml file to look at.

Only the local stack turns it on (LEADFLOW_OUTBOX_DIR); the outbox page lists the files and
shows each one as the recipient's mail program would.
"""

from __future__ import annotations

import email
import re
import time
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from pathlib import Path

from chalicelib.messaging.transport import Outgoing, Transport

_NAME = re.compile(r"^[\w.-]+\.eml$")


@dataclass(frozen=True)
class Summary:
    name: str
    sender: str
    recipient: str
    subject: str
    date: str


class Mailbox:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def keep(self, message_id: str, raw: bytes) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        safe = re.sub(r"[^\w.-]", "_", message_id)
        # Nanoseconds first: names sort by sending order without listing the folder each time.
        path = self.folder / f"{time.time_ns()}-{safe}.eml"
        path.write_bytes(raw)
        return path

    def names(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        return sorted((p.name for p in self.folder.glob("*.eml")), reverse=True)

    def raw(self, name: str) -> bytes:
        """The message exactly as it was sent (what a mailbox provider receives)."""
        if not _NAME.match(name) or not (self.folder / name).is_file():
            raise FileNotFoundError(name)
        return (self.folder / name).read_bytes()

    def read(self, name: str) -> EmailMessage:
        message = email.message_from_bytes(self.raw(name), policy=policy.default)
        assert isinstance(message, EmailMessage)
        return message

    def summaries(self) -> list[Summary]:
        out = []
        for name in self.names():
            m = self.read(name)
            out.append(
                Summary(name, str(m["From"]), str(m["To"]), str(m["Subject"]), str(m["Date"]))
            )
        return out

    def forget(self, address: str) -> int:
        """Delete every kept message to this address (an erasure); how many there were."""
        gone = 0
        for name in self.names():
            if address.lower() in str(self.read(name)["To"]).lower():
                (self.folder / name).unlink(missing_ok=True)
                gone += 1
        return gone

    @staticmethod
    def part(message: EmailMessage, subtype: str) -> str:
        body = message.get_body(preferencelist=(subtype,))
        return body.get_content() if body is not None else ""


class KeepingTransport:
    """A transport that also keeps what it sent in a Mailbox."""

    def __init__(self, inner: Transport, mailbox: Mailbox) -> None:
        self.inner = inner
        self.mailbox = mailbox

    def send(self, mail: Outgoing) -> str:
        message_id = self.inner.send(mail)
        self.mailbox.keep(message_id, mail.raw)
        return message_id
