"""Checks raw QuickSight response bodies against botocore's service model.

boto3 parses leniently: it drops unknown members, accepts strings where
numbers belong and never looks at enums, required members or length and
pattern constraints. This module is strict where boto3 is lenient, so that
the emulator's wire output can be held to the model the real service follows.

Only the standard library and botocore are used.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from typing import Any, Iterable, Mapping

import botocore.session
from botocore.model import OperationModel, ServiceModel, Shape

# Errors any operation may answer even when its model entry does not list them
# (AWS returns these from the front end, before the operation runs).
COMMON_ERRORS = frozenset(
    {
        "AccessDeniedException",
        "InternalFailureException",
        "ThrottlingException",
        "ServiceUnavailableException",
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "IncompleteSignatureException",
        "MissingAuthenticationTokenException",
        "ExpiredTokenException",
        "ValidationException",
        "RequestEntityTooLargeException",
    }
)

# A timestamp above this is almost surely epoch milliseconds, not seconds
# (1e11 seconds is the year 5138; 1e11 milliseconds is 1973).
_MAX_EPOCH_SECONDS = 1e11

# Members with these locations travel outside the JSON body.
_NON_BODY_LOCATIONS = ("header", "headers", "statusCode", "uri", "querystring")

_CONTROL_CHARS = "\\x00-\\x1f\\x7f-\\x9f"


def load_service_model(service: str = "quicksight") -> ServiceModel:
    """botocore's model of `service`, as installed next to boto3."""
    return botocore.session.get_session().get_service_model(service)


def translate_java_pattern(pattern: str) -> str:
    """Rewrite the Java regex idioms the model uses into Python `re` syntax.

    Handles `\\z`, a hyphen right after a class shorthand inside a character
    class (`[\\w- ]`, literal in Java, an error in Python) and `\\p{Cc}`.
    Anything else Java-only (other `\\p{..}` classes) is left as is, so that
    compiling fails and the caller skips the pattern.
    """
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            if nxt == "z":
                out.append("\\Z")
                i += 2
                continue
            if pattern.startswith("\\p{Cc}", i):
                out.append(_CONTROL_CHARS if in_class else f"[{_CONTROL_CHARS}]")
                i += len("\\p{Cc}")
                continue
            out.append(pattern[i : i + 2])
            i += 2
            if in_class and nxt in "wdsWDS" and i < len(pattern) and pattern[i] == "-":
                if i + 1 < len(pattern) and pattern[i + 1] != "]":
                    out.append("\\-")
                    i += 1
            continue
        if ch == "[" and not in_class:
            in_class = True
            out.append(ch)
            i += 1
            # A ']' or '^]' right after '[' is a literal in both dialects.
            if pattern.startswith("^", i):
                out.append("^")
                i += 1
            if pattern.startswith("]", i):
                out.append("]")
                i += 1
            continue
        if ch == "]" and in_class:
            in_class = False
        out.append(ch)
        i += 1
    return "".join(out)


def _lower_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    return {k.lower(): v for k, v in (headers or {}).items()}


def _short(value: Any, limit: int = 80) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class ShapeChecker:
    """Validates raw responses of one service against its botocore model.

    Every check returns a list of problems, each a string
    `"<json path>: <what is wrong>"`; an empty list means the body conforms.
    """

    def __init__(
        self,
        service_model: ServiceModel | None = None,
        *,
        allow_null_members: bool = False,
        anchored_patterns: bool = True,
        allow_loopback_http: bool = False,
    ) -> None:
        self.model = service_model or load_service_model()
        # An emulator serves its own download URLs over plain HTTP on loopback
        # where AWS gives https; with this set, such a URL passes a pattern
        # that its https:// twin would pass. Nothing else is relaxed.
        self.allow_loopback_http = allow_loopback_http
        # AWS omits absent members; a JSON null is a sign of a serializer bug.
        self.allow_null_members = allow_null_members
        # The service validates with Java's String.matches (whole string);
        # Smithy's own reading is an unanchored search.
        self.anchored_patterns = anchored_patterns
        self._patterns: dict[str, re.Pattern[str] | None] = {}
        self.skipped_patterns: set[str] = set()

    # ----- public entry points -------------------------------------------------

    def operation(self, name: str) -> OperationModel:
        return self.model.operation_model(name)

    def check_response(
        self,
        operation_name: str,
        status: int,
        headers: Mapping[str, str] | None,
        raw_body: bytes,
    ) -> list[str]:
        """Check a whole HTTP response: success or error, as its status says."""
        if status >= 300:
            return self.check_error(operation_name, status, headers, raw_body)
        problems: list[str] = []
        op = self.operation(operation_name)
        # Without an explicit responseCode the service may answer any 2xx
        # (the model binds `Status` to it: QuickSight sends 201/202 on creates).
        expected = op.http.get("responseCode")
        if expected is not None and status != expected:
            problems.append(f"$: HTTP status {status}, the model says {expected}")
        elif not 200 <= status < 300:
            problems.append(f"$: HTTP status {status} is not a success")
        problems += self._check_common_headers(headers, raw_body)
        body = self._parse_json(raw_body, problems)
        if body is not None:
            problems += self.check_output(operation_name, body)
        return problems

    def check_output(self, operation_name: str, body: Any) -> list[str]:
        """Check a parsed success body against the operation's output shape."""
        op = self.operation(operation_name)
        shape = op.output_shape
        problems: list[str] = []
        if shape is None:
            if body not in ({}, None):
                problems.append("$: the operation has no output, yet the body is not empty")
            return problems
        if not isinstance(body, dict):
            return [f"$: body must be a JSON object, got {type(body).__name__}"]
        self._check_structure(shape, body, "$", problems, top_level=True)
        return problems

    def check_error(
        self,
        operation_name: str,
        status: int,
        headers: Mapping[str, str] | None,
        raw_body: bytes,
    ) -> list[str]:
        """Check an error response: its code header, status and JSON body."""
        problems: list[str] = []
        op = self.operation(operation_name)
        lowered = _lower_headers(headers)
        problems += self._check_common_headers(headers, raw_body)
        raw_code = lowered.get("x-amzn-errortype")
        if not raw_code:
            problems.append("headers: x-amzn-ErrorType is missing")
            code = None
        else:
            # AWS may append ":<namespace url>" to the code.
            code = raw_code.split(":", 1)[0]
            declared = {s.name for s in op.error_shapes}
            if code not in declared and code not in COMMON_ERRORS:
                problems.append(
                    f"headers: x-amzn-ErrorType {code!r} is neither declared by "
                    f"{operation_name} ({sorted(declared)}) nor a common error"
                )
        error_shape = self._error_shape(code) if code else None
        if error_shape is not None:
            want = error_shape.metadata.get("error", {}).get("httpStatusCode")
            if want is not None and want != status:
                problems.append(f"$: HTTP status {status} for {code}, the model says {want}")
        body = self._parse_json(raw_body, problems)
        if body is None:
            return problems
        if not isinstance(body, dict):
            problems.append(f"$: error body must be a JSON object, got {type(body).__name__}")
            return problems
        if not isinstance(body.get("Message"), str):
            problems.append('$.Message: an error body must carry a "Message" string')
        if error_shape is not None:
            # botocore reads the code from "__type"/"code" when the header lacks it;
            # allow them in the body alongside the shape's members.
            extra = {k: v for k, v in body.items() if k not in ("__type", "code")}
            self._check_structure(error_shape, extra, "$", problems, top_level=True)
        return problems

    # ----- internals -----------------------------------------------------------

    def _error_shape(self, code: str) -> Shape | None:
        try:
            shape = self.model.shape_for(code)
        except Exception:  # botocore raises NoShapeFoundError
            return None
        return shape if shape.metadata.get("exception") else None

    @staticmethod
    def _check_common_headers(headers: Mapping[str, str] | None, raw_body: bytes) -> list[str]:
        problems = []
        lowered = _lower_headers(headers)
        if not lowered.get("x-amzn-requestid"):
            problems.append("headers: x-amzn-RequestId is missing")
        if raw_body:
            ctype = lowered.get("content-type", "")
            if "json" not in ctype:
                problems.append(f"headers: Content-Type {ctype!r} is not JSON")
        return problems

    @staticmethod
    def _parse_json(raw_body: bytes, problems: list[str]) -> Any:
        if not raw_body:
            problems.append("$: the body is empty, a JSON object was expected")
            return None
        try:
            return json.loads(raw_body)
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            problems.append(f"$: the body is not JSON ({err})")
            return None

    def _pattern(self, pattern: str) -> re.Pattern[str] | None:
        if pattern not in self._patterns:
            try:
                self._patterns[pattern] = re.compile(translate_java_pattern(pattern))
            except re.error:
                self._patterns[pattern] = None
                self.skipped_patterns.add(pattern)
        return self._patterns[pattern]

    def _check(self, shape: Shape, value: Any, path: str, problems: list[str]) -> None:
        kind = shape.type_name
        if kind == "structure":
            if shape.metadata.get("document"):
                return  # free-form JSON
            if not isinstance(value, dict):
                problems.append(f"{path}: {shape.name} is a structure, got {_short(value)}")
                return
            self._check_structure(shape, value, path, problems)
        elif kind == "list":
            if not isinstance(value, list):
                problems.append(f"{path}: {shape.name} is a list, got {_short(value)}")
                return
            self._check_size(shape, len(value), path, problems, "items")
            for i, item in enumerate(value):
                if item is None:
                    problems.append(f"{path}[{i}]: null list element")
                    continue
                self._check(shape.member, item, f"{path}[{i}]", problems)
        elif kind == "map":
            if not isinstance(value, dict):
                problems.append(f"{path}: {shape.name} is a map, got {_short(value)}")
                return
            self._check_size(shape, len(value), path, problems, "entries")
            for k, v in value.items():
                self._check(shape.key, k, f"{path}<key {k!r}>", problems)
                if v is None:
                    problems.append(f"{path}[{k!r}]: null map value")
                    continue
                self._check(shape.value, v, f"{path}[{k!r}]", problems)
        elif kind == "string":
            self._check_string(shape, value, path, problems)
        elif kind == "boolean":
            if not isinstance(value, bool):
                problems.append(f"{path}: {shape.name} is a boolean, got {_short(value)}")
        elif kind in ("integer", "long", "short", "byte"):
            if isinstance(value, bool) or not isinstance(value, int):
                problems.append(f"{path}: {shape.name} is an integer, got {_short(value)}")
                return
            self._check_range(shape, value, path, problems)
        elif kind in ("double", "float"):
            if isinstance(value, str) and value in ("NaN", "Infinity", "-Infinity"):
                return
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                problems.append(f"{path}: {shape.name} is a number, got {_short(value)}")
                return
            if not math.isfinite(value):
                problems.append(f"{path}: non-finite number {value}")
                return
            self._check_range(shape, value, path, problems)
        elif kind == "timestamp":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                problems.append(
                    f"{path}: {shape.name} is a timestamp, sent as a JSON number of epoch "
                    f"seconds, got {_short(value)}"
                )
            elif abs(value) > _MAX_EPOCH_SECONDS:
                problems.append(
                    f"{path}: timestamp {value} looks like epoch milliseconds, not seconds"
                )
        elif kind == "blob":
            if not isinstance(value, str):
                problems.append(f"{path}: {shape.name} is a blob (base64 string), got {_short(value)}")
                return
            try:
                decoded = base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                problems.append(f"{path}: {shape.name} is not valid base64")
                return
            self._check_size(shape, len(decoded), path, problems, "bytes")
        else:
            problems.append(f"{path}: the checker does not know shape type {kind!r}")

    def _check_structure(
        self,
        shape: Shape,
        value: dict,
        path: str,
        problems: list[str],
        top_level: bool = False,
    ) -> None:
        members = shape.members
        for name, item in value.items():
            sub = f"{path}.{name}"
            member = members.get(name)
            if member is None:
                problems.append(f"{sub}: unknown member of {shape.name}, value {_short(item)}")
                continue
            location = member.serialization.get("location")
            if top_level and location in _NON_BODY_LOCATIONS:
                problems.append(
                    f"{sub}: bound to {location} ({member.serialization.get('name', name)}), "
                    "must not be in the body"
                )
                continue
            if item is None:
                if not self.allow_null_members:
                    problems.append(f"{sub}: null value; omit absent members instead")
                continue
            self._check(member, item, sub, problems)
        for name in shape.required_members:
            member = members[name]
            if top_level and member.serialization.get("location") in _NON_BODY_LOCATIONS:
                continue
            if value.get(name) is None:
                problems.append(f"{path}.{name}: required member of {shape.name} is missing")
        if shape.metadata.get("union"):
            set_members = [n for n, v in value.items() if v is not None and n in members]
            if len(set_members) != 1:
                problems.append(
                    f"{path}: union {shape.name} must have exactly one member set, has {set_members}"
                )

    def _check_string(self, shape: Shape, value: Any, path: str, problems: list[str]) -> None:
        if not isinstance(value, str):
            problems.append(f"{path}: {shape.name} is a string, got {_short(value)}")
            return
        enum = shape.metadata.get("enum")
        if enum and value not in enum:
            problems.append(f"{path}: {value!r} is not in enum {shape.name} {enum}")
        self._check_size(shape, len(value), path, problems, "characters")
        pattern = shape.metadata.get("pattern")
        if pattern:
            compiled = self._pattern(pattern)
            if compiled is not None:
                matcher = compiled.fullmatch if self.anchored_patterns else compiled.search
                if matcher(value) is None and not self._loopback_twin_matches(value, matcher):
                    problems.append(
                        f"{path}: {_short(value)} does not match {shape.name} pattern {pattern!r}"
                    )

    def _loopback_twin_matches(self, value: str, matcher) -> bool:
        if not self.allow_loopback_http:
            return False
        if not value.startswith(("http://127.0.0.1", "http://localhost", "http://[::1]")):
            return False
        return matcher("https://" + value[len("http://") :]) is not None

    @staticmethod
    def _check_size(shape: Shape, size: int, path: str, problems: list[str], unit: str) -> None:
        low = shape.metadata.get("min")
        high = shape.metadata.get("max")
        if low is not None and size < low:
            problems.append(f"{path}: {size} {unit}, {shape.name} needs at least {low}")
        if high is not None and size > high:
            problems.append(f"{path}: {size} {unit}, {shape.name} allows at most {high}")

    @staticmethod
    def _check_range(shape: Shape, value: float, path: str, problems: list[str]) -> None:
        low = shape.metadata.get("min")
        high = shape.metadata.get("max")
        if low is not None and value < low:
            problems.append(f"{path}: {value} is below {shape.name} minimum {low}")
        if high is not None and value > high:
            problems.append(f"{path}: {value} is above {shape.name} maximum {high}")


def format_problems(operation: str, problems: Iterable[str]) -> str:
    """One readable block for an assertion message."""
    lines = list(problems)
    return f"{operation}: {len(lines)} problem(s)\n  " + "\n  ".join(lines)
