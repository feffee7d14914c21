"""The embedded AWS (ministack) as a supervised child process: started, watched, restarted.

ministack pins its own botocore, so it lives in a virtual environment of its own
(`.venv-aws/`, made by `make install`) and runs `emulator_main.py` with that Python. It serves
DynamoDB (with streams), SQS and SES on one loopback port. With a state folder every answered
write is journaled before its answer leaves (emulator_main.py), so nothing acknowledged is lost
even to a kill -9; `supervisor.supervise` restarts it on the same port if it dies, so clients
that keep the endpoint simply find it back.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from chalicelib import loopback
from chalicelib.local import ports

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
MAIN = Path(__file__).resolve().with_name("emulator_main.py")
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": loopback.ACCESS_KEY,
    "AWS_SECRET_ACCESS_KEY": "leadflow-local",
    "AWS_DEFAULT_REGION": "us-east-1",
}
# Loading a big snapshot and replaying its journal can take a while; a process that is alive
# is given this long before it is thought stuck.
READY_SECONDS = 300.0
SNAPSHOT_EVERY_SECONDS = 30.0


class EmulatorMissing(RuntimeError):
    """ministack's virtual environment is not there: `make install` makes it."""


def python() -> Path:
    """The interpreter of ministack's virtual environment (LEADFLOW_AWS_PYTHON overrides)."""
    configured = os.environ.get("LEADFLOW_AWS_PYTHON")
    path = Path(configured) if configured else ROOT / ".venv-aws" / "bin" / "python"
    if not path.exists():
        raise EmulatorMissing(f"{path} not found: run `make install` to set up the embedded AWS")
    return path


class Emulator:
    """One ministack process on a fixed port; `state` is where it persists (None: memory)."""

    def __init__(
        self,
        port: int,
        state: Path | None = None,
        snapshot_every: float = SNAPSHOT_EVERY_SECONDS,
        expire: bool = True,
    ) -> None:
        self.port = port
        self.state = state
        self.snapshot_every = snapshot_every
        self.expire = expire  # False: items past their TTL stay (tests on a fake clock)
        self.endpoint = f"http://127.0.0.1:{port}"
        self.name = f"the embedded AWS on {self.endpoint}"
        self.restarts = 0
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [str(python()), str(MAIN), "--port", str(self.port), "--parent", str(os.getpid())]
        if self.state is not None:
            command += ["--state", str(self.state), "--snapshot-every", str(self.snapshot_every)]
        if not self.expire:
            command.append("--no-expiry")
        # A session of its own: Ctrl-C reaches the stack, which stops the emulator last.
        self._process = subprocess.Popen(command, stdout=subprocess.DEVNULL, start_new_session=True)
        self._wait_until_up()

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"the embedded AWS exited before serving on {self.endpoint}")
            if self.healthy():
                return
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"the embedded AWS did not answer on {self.endpoint}")

    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.endpoint}/_ministack/health", timeout=1) as r:
                return "dynamodb" in json.loads(r.read()).get("services", {})
        except (OSError, ValueError):
            return False

    def reset(self) -> None:
        """Forget every table, queue and identity (tests and benches start from nothing)."""
        request = urllib.request.Request(
            f"{self.endpoint}/_ministack/reset", method="POST", data=b""
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()

    def stop(self) -> None:
        """Stop cleanly: with a state folder, the emulator writes a last snapshot on the way out."""
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()


def point_clients_at(endpoint: str) -> None:
    """Every boto3 client of this process talks to the emulator, with credentials it accepts."""
    os.environ.update(FAKE_CREDENTIALS)
    os.environ.pop("AWS_PROFILE", None)
    os.environ["AWS_ENDPOINT_URL"] = endpoint


def start(port: int | None = None, state: Path | None = None, expire: bool = True) -> Emulator:
    """Start the emulator and point this process's AWS clients at it."""
    emulator = Emulator(port or ports.free(), state, expire=expire)
    emulator.start()
    point_clients_at(emulator.endpoint)
    return emulator
