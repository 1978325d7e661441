"""Fixtures: a qs-emulator process for the session and boto3 clients that keep raw responses.

The emulator binary is `$QS_EMULATOR_BIN`, or `$CARGO_TARGET_DIR/debug/qs-emulator`
with CARGO_TARGET_DIR defaulting to ~/.cache/qsbackup-target. Tests that need it
fail (never skip) with a message saying how to build it.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import tempfile
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore import xform_name

from shape_check import ShapeChecker, format_problems

ACCOUNT = "123456789012"  # holds the generated `small` profile
TARGET_ACCOUNT = "210987654321"  # starts empty; a restore target
REGION = "us-east-1"
STARTUP_TIMEOUT_S = 30

# Operations validated in this session, for the terminal summary.
VALIDATED: dict[str, int] = {}
VALIDATED_ERRORS: dict[str, set[str]] = {}


def emulator_binary() -> Path:
    explicit = os.environ.get("QS_EMULATOR_BIN")
    if explicit:
        return Path(explicit)
    target = os.environ.get("CARGO_TARGET_DIR") or str(Path.home() / ".cache" / "qsbackup-target")
    return Path(target) / "debug" / "qs-emulator"


@dataclass
class Emulator:
    """A running qs-emulator and its admin API (plain HTTP, no signing)."""

    endpoint: str
    process: subprocess.Popen
    stderr_path: Path

    def admin(self, method: str, path: str, payload: Any = None) -> tuple[int, Any]:
        data = None if payload is None else json.dumps(payload).encode()
        req = urllib.request.Request(self.endpoint + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                body = resp.read()
                status = resp.status
        except urllib.error.HTTPError as err:
            body = err.read()
            status = err.code
        try:
            return status, json.loads(body) if body else None
        except json.JSONDecodeError:
            return status, body

    def stats(self, account: str = ACCOUNT) -> dict:
        status, body = self.admin("GET", f"/_emulator/stats?account={account}")
        assert status == 200, (status, body)
        return body

    def reset_stats(self) -> None:
        status, body = self.admin("POST", "/_emulator/stats/reset")
        assert status in (200, 204), (status, body)

    def set_faults(self, plan: dict) -> None:
        status, body = self.admin("PUT", "/_emulator/faults", plan)
        assert status in (200, 204), (status, body)

    def clear_faults(self) -> None:
        self.set_faults({})

    def expire_downloads(self) -> int:
        """Expires every download URL handed out so far; returns how many."""
        status, body = self.admin("POST", "/_emulator/downloads/expire")
        assert status == 200, (status, body)
        return body["expired"]

    def stderr_tail(self, limit: int = 4000) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")[-limit:]
        except OSError:
            return ""


def _read_first_line(stream, timeout: float) -> str | None:
    lines: "queue.Queue[str | None]" = queue.Queue()

    def pump() -> None:
        first = True
        for line in iter(stream.readline, ""):
            if first:
                lines.put(line)
                first = False
            # Keep draining so a chatty emulator never blocks on a full pipe.
        if first:
            lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    try:
        return lines.get(timeout=timeout)
    except queue.Empty:
        return None


@pytest.fixture(scope="session")
def emulator():
    yield from _serve("small")


@pytest.fixture(scope="session")
def emulator_medium():
    """The `medium` profile (971 assets, every generated data source kind) in ACCOUNT; only
    read by the shape tests, so nothing here changes it."""
    yield from _serve("medium")


def _serve(profile: str):
    binary = emulator_binary()
    if not binary.is_file():
        pytest.fail(
            f"qs-emulator binary not found at {binary}. Build it with "
            "`CARGO_TARGET_DIR=$HOME/.cache/qsbackup-target cargo build -p qs-emulator` "
            "or point QS_EMULATOR_BIN at it."
        )
    stderr_file = tempfile.NamedTemporaryFile(prefix="qs-emulator-", suffix=".log", delete=False)
    args = [
        str(binary),
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--profile",
        profile,
        "--seed",
        "1",
        "--accounts",
        f"{ACCOUNT},{TARGET_ACCOUNT}",
    ]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=stderr_file, text=True)
    emu = None
    try:
        line = _read_first_line(proc.stdout, STARTUP_TIMEOUT_S)
        prefix = "listening on "
        if not line or not line.startswith(prefix):
            log = Path(stderr_file.name).read_text(errors="replace")[-4000:]
            pytest.fail(f"qs-emulator did not announce its endpoint; first line {line!r}\nstderr:\n{log}")
        emu = Emulator(line[len(prefix) :].strip(), proc, Path(stderr_file.name))
        yield emu
    finally:
        proc.kill()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        stderr_file.close()
        Path(stderr_file.name).unlink(missing_ok=True)


@dataclass
class RawResponse:
    operation: str
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class QuickSight:
    """A boto3 QuickSight client whose every call is checked on the wire.

    `call` returns boto3's parsed result after validating the raw body the
    server sent; `error` expects a ClientError with a given code and validates
    the raw error response.
    """

    client: Any
    checker: ShapeChecker
    last: RawResponse | None = None
    history: list[RawResponse] = field(default_factory=list)

    def _capture(self, http_response, model, **_kwargs) -> None:
        raw = RawResponse(
            model.name, http_response.status_code, dict(http_response.headers), http_response.content
        )
        self.last = raw
        self.history.append(raw)

    def _method(self, operation: str) -> Callable[..., dict]:
        return getattr(self.client, xform_name(operation))

    def checked(self, operation: str, **params) -> tuple[dict, list[str]]:
        """Call and return (parsed, problems) without asserting; for sweeps."""
        self.last = None
        parsed = self._method(operation)(**params)
        raw = self.last
        assert raw is not None and raw.operation == operation, "no raw response captured"
        problems = self.checker.check_response(operation, raw.status, raw.headers, raw.body)
        VALIDATED[operation] = VALIDATED.get(operation, 0) + 1
        return parsed, problems

    def attempt(self, operation: str, **params) -> tuple[dict | None, ClientError | None]:
        """Call where success and failure are both expected; validate either on the wire."""
        self.last = None
        try:
            parsed = self._method(operation)(**params)
            err = None
        except ClientError as caught:
            parsed, err = None, caught
        raw = self.last
        assert raw is not None and raw.operation == operation, "no raw response captured"
        problems = self.checker.check_response(operation, raw.status, raw.headers, raw.body)
        assert not problems, format_problems(operation, problems) + f"\nraw body: {raw.body[:2000]!r}"
        if err is None:
            VALIDATED[operation] = VALIDATED.get(operation, 0) + 1
        else:
            VALIDATED_ERRORS.setdefault(operation, set()).add(err.response["Error"]["Code"])
        return parsed, err

    def call(self, operation: str, **params) -> dict:
        parsed, problems = self.checked(operation, **params)
        assert not problems, format_problems(operation, problems) + f"\nraw body: {self.last.body[:2000]!r}"
        return parsed

    def raw_json(self) -> Any:
        assert self.last is not None
        return json.loads(self.last.body)

    def error(self, operation: str, code: str, status: int | None = None, **params) -> ClientError:
        self.last = None
        with pytest.raises(ClientError) as info:
            self._method(operation)(**params)
        err = info.value
        raw = self.last
        assert raw is not None and raw.operation == operation, "no raw response captured"
        assert err.response["Error"]["Code"] == code, (
            f"{operation}: expected {code}, got {err.response['Error']['Code']} "
            f"(HTTP {raw.status}): {raw.body[:500]!r}"
        )
        if status is not None:
            assert raw.status == status, f"{operation} {code}: HTTP {raw.status}, expected {status}"
        problems = self.checker.check_error(operation, raw.status, raw.headers, raw.body)
        assert not problems, format_problems(operation, problems) + f"\nraw body: {raw.body[:2000]!r}"
        VALIDATED_ERRORS.setdefault(operation, set()).add(code)
        return err

    def pages(self, operation: str, result_key: str, page_size: int | None = None, **params) -> list:
        """Follow NextToken to the end, validating every page; return all items."""
        items: list = []
        token = None
        seen_tokens: set[str] = set()
        for _ in range(10_000):
            extra = dict(params)
            if page_size is not None:
                extra["MaxResults"] = page_size
            if token:
                extra["NextToken"] = token
            page = self.call(operation, **extra)
            got = page.get(result_key, [])
            if page_size is not None:
                assert len(got) <= page_size, f"{operation}: {len(got)} items on a page of {page_size}"
            items.extend(got)
            token = page.get("NextToken")
            if not token:
                return items
            assert token not in seen_tokens, f"{operation}: NextToken repeats ({token!r})"
            seen_tokens.add(token)
        raise AssertionError(f"{operation}: pagination did not end")


@pytest.fixture(scope="session")
def checker() -> ShapeChecker:
    # The emulator serves DownloadUrl over http on loopback, AWS over https:
    # the one deviation tolerated (see README).
    return ShapeChecker(allow_loopback_http=True)


def _client_factory(emulator: Emulator, checker: ShapeChecker) -> Callable[..., QuickSight]:
    def make(region: str = REGION, parameter_validation: bool = True) -> QuickSight:
        client = boto3.session.Session().client(
            "quicksight",
            endpoint_url=emulator.endpoint,
            region_name=region,
            aws_access_key_id="test",
            aws_secret_access_key="test",
            aws_session_token=None,
            config=Config(
                retries={"total_max_attempts": 1, "mode": "standard"},
                read_timeout=60,
                parameter_validation=parameter_validation,
            ),
        )
        qs = QuickSight(client, checker)
        client.meta.events.register("after-call.quicksight", qs._capture)
        return qs

    return make


@pytest.fixture(scope="session")
def make_client(emulator, checker) -> Callable[..., QuickSight]:
    return _client_factory(emulator, checker)


@pytest.fixture(scope="session")
def qs(make_client) -> QuickSight:
    return make_client()


@pytest.fixture(scope="session")
def qs_medium(emulator_medium, checker) -> QuickSight:
    """A checked client of the `medium` profile's emulator."""
    return _client_factory(emulator_medium, checker)()


@pytest.fixture
def faults(emulator):
    """Set a fault plan for one test; cleared afterwards even on failure."""
    yield emulator.set_faults
    emulator.clear_faults()


def pytest_terminal_summary(terminalreporter):
    if not VALIDATED and not VALIDATED_ERRORS:
        return
    terminalreporter.section("qs-emulator wire validation")
    for op in sorted(VALIDATED):
        terminalreporter.write_line(f"{op}: {VALIDATED[op]} response(s) validated")
    for op in sorted(VALIDATED_ERRORS):
        terminalreporter.write_line(f"{op}: errors validated {sorted(VALIDATED_ERRORS[op])}")
