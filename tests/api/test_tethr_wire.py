"""Byte-for-byte wire compatibility with Tethr's own SDKs (contract §2, §3, §4, §10).

Every request under test is framed by hand and written to a real TCP socket, exactly as the v1 .NET
AudioBroker, the v1 C++ client and the v2 .NET client frame theirs (httpx would normalize the
framing away). Answers are checked the way those clients read them: status 200, the exact
``Content-Type: application/json; charset=utf-8``, and case-sensitive camelCase keys.
"""

from __future__ import annotations

import io
import json
import socket
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

from helpers import call_info, wav_bytes
from tethr_clients import assert_tethr_clients_read

TETHR_JSON = "application/json; charset=utf-8"
SOCKET_TIMEOUT = 30.0
STATUS_KEYS = {"callId", "sessionId", "status", "durationSec"}


# --------------------------------------------------------------------------- raw HTTP/1.1


@dataclass
class RawResponse:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    interim: list[int] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        """The one value of header ``name`` (None when absent; fails when repeated)."""
        values = [v for k, v in self.headers if k == name.lower()]
        assert len(values) <= 1, f"header {name} repeated: {values}"
        return values[0] if values else None

    def json(self) -> Any:
        return json.loads(self.body)


def build_request(
    method: str,
    path: str,
    headers: list[tuple[str, str]],
    body: bytes = b"",
    *,
    chunks: list[bytes] | None = None,
) -> bytes:
    """Request bytes exactly as given: no header is added but Host and Connection.

    With ``chunks`` the body is sent with chunked transfer coding (one chunk per item, whatever
    ``headers`` says about Content-Length); otherwise ``body`` is sent as is.
    """
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers)]
    lines.append("Connection: close")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    if chunks is None:
        return head + body
    coded = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks if c)
    return head + coded + b"0\r\n\r\n"


def _read_line(stream: Any) -> bytes:
    line: bytes = stream.readline(65536)
    assert line.endswith(b"\r\n"), f"response line not CRLF-terminated: {line!r}"
    return line[:-2]


def _read_head(stream: Any) -> tuple[int, str, list[tuple[str, str]]]:
    status_line = _read_line(stream).decode("latin-1")
    version, _, rest = status_line.partition(" ")
    assert version == "HTTP/1.1", status_line
    code, _, reason = rest.partition(" ")
    headers = []
    while line := _read_line(stream):
        name, sep, value = line.decode("latin-1").partition(":")
        assert sep, f"malformed header line {line!r}"
        assert name == name.strip(), f"whitespace around header name {line!r}"
        headers.append((name.lower(), value.strip()))
    return int(code), reason, headers


def _read_chunked(stream: Any) -> bytes:
    body = bytearray()
    while True:
        size = int(_read_line(stream).split(b";")[0].strip(), 16)
        if size == 0:
            while _read_line(stream):  # trailers, up to the empty line
                pass
            return bytes(body)
        data = stream.read(size)
        assert len(data) == size, "chunk cut short"
        body += data
        assert _read_line(stream) == b"", "chunk not followed by CRLF"


def read_response(stream: Any, method: str = "POST") -> RawResponse:
    """Parse one response, skipping interim 1xx answers; honours chunked and Content-Length."""
    interim = []
    while True:
        status, reason, headers = _read_head(stream)
        if status >= 200:
            break
        interim.append(status)
    named = dict(headers)
    if method == "HEAD" or status in (204, 304):
        body = b""
    elif "transfer-encoding" in named:
        assert named["transfer-encoding"].lower() == "chunked", named["transfer-encoding"]
        assert "content-length" not in named, "response has both Transfer-Encoding and length"
        body = _read_chunked(stream)
    elif "content-length" in named:
        length = int(named["content-length"])
        body = stream.read(length)
        assert len(body) == length, f"body cut short: {len(body)} of {length} bytes"
    else:
        body = stream.read()  # delimited by close
    return RawResponse(status, reason, headers, body, interim)


def send_raw(port: int, data: bytes, method: str = "POST") -> RawResponse:
    """Write ``data`` to a fresh connection and read the one response."""
    with socket.create_connection(("127.0.0.1", port), timeout=SOCKET_TIMEOUT) as sock:
        sock.sendall(data)
        with sock.makefile("rb") as stream:
            return read_response(stream, method)


def raw_json(port: int, path: str, token: str, document: Any, method: str = "POST") -> RawResponse:
    body = json.dumps(document).encode()
    headers = [
        ("Authorization", f"Bearer {token}"),
        ("Content-Type", "application/json; charset=utf-8"),
        ("Content-Length", str(len(body))),
    ]
    return send_raw(port, build_request(method, path, headers, body), method)


def raw_get(port: int, path: str, token: str) -> RawResponse:
    request = build_request("GET", path, [("Authorization", f"Bearer {token}")])
    return send_raw(port, request, "GET")


def assert_tethr_json(answer: RawResponse) -> Any:
    """A success exactly as Tethr's clients need it: 200, exact content type, JSON body."""
    assert answer.status == 200, (answer.status, answer.body[:500])
    assert answer.header("content-type") == TETHR_JSON
    return answer.json()


def assert_problem(answer: RawResponse, status: int) -> dict[str, Any]:
    """A problem as Tethr's clients get it: they name no ``application/problem+json`` in an
    ``Accept``, so the problem body comes as Tethr JSON, its status kept (contract §8)."""
    assert answer.status == status, (answer.status, answer.body[:500])
    assert answer.header("content-type") == TETHR_JSON
    doc: dict[str, Any] = answer.json()
    assert {"type", "title", "status", "detail"} <= set(doc)
    assert doc["status"] == status
    assert isinstance(doc["detail"], str)
    assert doc["detail"].strip()
    return doc


def test_raw_response_parser_handles_chunked_and_interim_answers():
    """The reader above is itself under test: chunked bodies, trailers, 1xx, Content-Length."""
    wire = (
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
        b'3;ext=1\r\n{"a\r\n7\r\n": [1, \r\na\r\n2, 3]}    \r\n0\r\nX-Trailer: t\r\n\r\n'
        b"HTTP/1.1 409 Conflict\r\nContent-Length: 2\r\n\r\n{}"
    )
    stream = io.BytesIO(wire)
    first = read_response(stream)
    assert (first.status, first.interim) == (200, [100])
    assert first.json() == {"a": [1, 2, 3]}
    second = read_response(stream)
    assert (second.status, second.body, second.header("content-type")) == (409, b"{}", None)
    with pytest.raises(AssertionError):
        read_response(io.BytesIO(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort"))


# --------------------------------------------------------------------------- multipart


@dataclass
class Part:
    name: str
    content: bytes
    content_type: str | None = None
    filename: str | None = None
    quote_name: bool = True
    type_first: bool = False
    extra_disposition: str = ""

    def encode(self) -> bytes:
        name = f'"{self.name}"' if self.quote_name else self.name
        disposition = f"Content-Disposition: form-data; name={name}"
        if self.filename is not None:
            fname = f'"{self.filename}"' if self.quote_name else self.filename
            disposition += f"; filename={fname}"
        disposition += self.extra_disposition
        lines = [disposition]
        if self.content_type is not None:
            ctype = f"Content-Type: {self.content_type}"
            lines = [ctype, disposition] if self.type_first else [disposition, ctype]
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.content


def multipart_body(boundary: str, parts: list[Part]) -> bytes:
    delimiter = f"--{boundary}".encode()
    out = bytearray()
    for part in parts:
        out += delimiter + b"\r\n" + part.encode() + b"\r\n"
    return bytes(out + delimiter + b"--\r\n")


def capture_parts(
    info: dict[str, Any] | bytes,
    audio: bytes,
    *,
    quote_names: bool = True,
    type_first: bool = False,
    filename: str | None = "call.wav",
    extra_disposition: str = "",
) -> list[Part]:
    raw = info if isinstance(info, bytes) else json.dumps(info).encode()
    return [
        Part("info", raw, "application/json; charset=utf-8", None, quote_names, type_first),
        Part("data", audio, "audio/wav", filename, quote_names, type_first, extra_disposition),
    ]


def capture_request(
    token: str,
    body: bytes,
    content_type: str,
    *,
    chunk_sizes: list[int] | None = None,
    content_length: int | None = None,
) -> bytes:
    """The bytes of one upload; ``chunk_sizes`` sends it chunked (cycling through the sizes)."""
    headers = [("Authorization", f"Bearer {token}"), ("Content-Type", content_type)]
    if chunk_sizes is None:
        headers.append(
            ("Content-Length", str(len(body) if content_length is None else content_length))
        )
        return build_request("POST", "/callCapture/v1/archive", headers, body)
    headers.append(("Transfer-Encoding", "chunked"))
    if content_length is not None:
        headers.append(("Content-Length", str(content_length)))
    chunks, at, i = [], 0, 0
    while at < len(body):
        size = chunk_sizes[i % len(chunk_sizes)]
        chunks.append(body[at : at + size])
        at, i = at + size, i + 1
    return build_request("POST", "/callCapture/v1/archive", headers, chunks=chunks)


def new_session() -> str:
    return f"wire-{uuid.uuid4()}"


def raw_capture(live: Any, token: str, info: dict[str, Any], audio: bytes | None = None) -> str:
    """Upload one call the plain way over a raw socket; returns its callId."""
    boundary = uuid.uuid4().hex
    body = multipart_body(boundary, capture_parts(info, audio or wav_bytes()))
    request = capture_request(token, body, f"multipart/form-data; boundary={boundary}")
    doc = assert_tethr_json(send_raw(live.port, request))
    assert set(doc) == {"callId"}
    assert isinstance(doc["callId"], str)
    assert doc["callId"]
    call_id: str = doc["callId"]
    return call_id


def details(live: Any, token: str, call_id: str) -> dict[str, Any]:
    with live.client(token) as client:
        answer = client.get(f"/calls/v1/{call_id}")
    assert answer.status_code == 200, answer.text
    doc: dict[str, Any] = answer.json()
    return doc


def audio_of(live: Any, token: str, call_id: str) -> bytes:
    with live.client(token) as client:
        answer = client.get(f"/calls/v1/{call_id}/audio")
    assert answer.status_code == 200, answer.text
    content: bytes = answer.content
    return content


def instant(text: str) -> datetime:
    """A read-back time; it must say it is UTC."""
    parsed = datetime.fromisoformat(text)
    assert parsed.tzinfo is not None, f"{text} does not say it is UTC"
    assert parsed.utcoffset() == UTC.utcoffset(None), f"{text} is not UTC"
    return parsed


def utc(
    hour: int, minute: int, second: int, micro: int = 0, *, day: int = 1, month: int = 1
) -> datetime:
    """An instant in 2024 (all the fixtures' times are)."""
    return datetime(2024, month, day, hour, minute, second, micro, tzinfo=UTC)


# --------------------------------------------------------------------------- token (§2, §10)


def token_request(form: str, content_type: str = "application/x-www-form-urlencoded") -> bytes:
    body = form.encode()
    headers = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
    return build_request("POST", "/Token", headers, body)


@pytest.mark.parametrize("space", ["+", "%20"])
@pytest.mark.parametrize(
    "form_type",
    ["application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=utf-8"],
)
def test_token_with_secret_first_and_encoded_spaces(live, space, form_type):
    client_id, secret = live.user("capture")
    encode = quote_plus if space == "+" else (lambda v: quote(v, safe=""))
    form = (
        f"client_secret={encode(secret)}&grant_type=client_credentials"
        f"&client_id={encode(client_id)}&note=sent{space}by{space}AudioBroker"
    )
    doc = assert_tethr_json(send_raw(live.port, token_request(form, form_type)))
    assert set(doc) == {"access_token", "token_type", "expires_in"}
    assert isinstance(doc["access_token"], str)
    assert doc["access_token"]
    assert doc["token_type"] == "bearer"
    assert type(doc["expires_in"]) in (int, float)
    assert doc["expires_in"] > 45


def test_token_before_every_call_like_the_cpp_client(live):
    client_id, secret = live.user("capture")
    form = f"grant_type=client_credentials&client_id={client_id}&client_secret={quote(secret)}"
    tokens = [assert_tethr_json(send_raw(live.port, token_request(form))) for _ in range(3)]
    assert len({t["access_token"] for t in tokens}) == 3
    for issued in tokens:
        answer = raw_json(
            live.port, "/callCapture/v1/status", issued["access_token"], {"CallSessionIds": ["x"]}
        )
        assert_tethr_json(answer)


# --------------------------------------------------------------------------- capture framing


@pytest.mark.parametrize(
    "declared",
    ["true-length", "smaller", "over-upload-limit"],
)
def test_capture_chunked_with_content_length_like_the_cpp_client(live, declared):
    token = live.token("capture", "read")
    audio = wav_bytes(1.5, marker=b"cpp-chunked")
    boundary = "------------------------a1b2c3d4e5f6"
    body = multipart_body(boundary, capture_parts(call_info(new_session()), audio))
    length = {
        "true-length": len(body),
        "smaller": 17,
        "over-upload-limit": live.runtime.settings.max_upload_bytes + 1,
    }[declared]
    request = capture_request(
        token,
        body,
        f"multipart/form-data; boundary={boundary}",
        chunk_sizes=[1, 7, 4096, 3, 16384, 250, 65536],
        content_length=length,
    )
    assert b"Transfer-Encoding: chunked" in request
    assert b"Content-Length: " in request
    doc = assert_tethr_json(send_raw(live.port, request))
    assert set(doc) == {"callId"}
    assert audio_of(live, token, doc["callId"]) == audio


@pytest.mark.parametrize(
    ("quote_boundary", "quote_names", "type_first", "filename", "extra"),
    [
        pytest.param(True, False, True, None, "", id="all-at-once"),
        pytest.param(True, True, False, "call.wav", "", id="quoted-boundary"),
        pytest.param(False, False, False, "call.wav", "", id="unquoted-names"),
        pytest.param(False, True, True, "call.wav", "", id="type-before-disposition"),
        pytest.param(False, True, False, None, "", id="no-filename"),
        pytest.param(
            True, False, True, "call.wav", "; filename*=utf-8''call.wav", id="dotnet-filename-star"
        ),
    ],
)
def test_capture_multipart_variants(live, quote_boundary, quote_names, type_first, filename, extra):
    token = live.token("capture", "read")
    audio = wav_bytes(1.0, marker=b"variant")
    boundary = "----abc"
    header_boundary = f'"{boundary}"' if quote_boundary else boundary
    parts = capture_parts(
        call_info(new_session()),
        audio,
        quote_names=quote_names,
        type_first=type_first,
        filename=filename,
        extra_disposition=extra,
    )
    request = capture_request(
        token, multipart_body(boundary, parts), f"multipart/form-data; boundary={header_boundary}"
    )
    doc = assert_tethr_json(send_raw(live.port, request))
    assert set(doc) == {"callId"}
    assert audio_of(live, token, doc["callId"]) == audio
    assert details(live, token, doc["callId"])["audioFormat"] == "wav"


def test_capture_with_expect_100_continue_like_dotnet(live):
    token = live.token("capture", "read")
    audio = wav_bytes(0.5)
    boundary = uuid.uuid4().hex
    body = multipart_body(boundary, capture_parts(call_info(new_session()), audio))
    headers = [
        ("Authorization", f"Bearer {token}"),
        ("Content-Type", f'multipart/form-data; boundary="{boundary}"'),
        ("Content-Length", str(len(body))),
        ("Expect", "100-continue"),
    ]
    head = build_request("POST", "/callCapture/v1/archive", headers)
    with socket.create_connection(("127.0.0.1", live.port), timeout=SOCKET_TIMEOUT) as sock:
        sock.sendall(head)
        with sock.makefile("rb") as stream:
            status, _, _ = _read_head(stream)
            assert status == 100
            sock.sendall(body)
            answer = read_response(stream)
    doc = assert_tethr_json(answer)
    assert audio_of(live, token, doc["callId"]) == audio


# --------------------------------------------------------------------------- capture JSON


def pascal_info(session_id: str) -> dict[str, Any]:
    return {
        "SessionId": session_id,
        "MasterCallId": "master-42",
        "StartTime": "2024-01-01T04:23:00.1234567Z",
        "EndTime": "2024-01-01T04:24:00.62859Z",
        "Direction": "OUTBOUND",
        "NumberDialed": "5125550000",
        "Contacts": [
            {
                "Type": "Agent",
                "Channel": 0,
                "ReferenceId": "agent-7",
                "FirstName": "Alice",
                "LastName": "Agent",
            },
            {
                "Type": "Customer",
                "Channel": 1,
                "PhoneNumber": "(512) 555-1234",
                "FirstName": "Bob",
                "LastName": "Caller",
            },
        ],
        "Audio": {"Format": "wav"},
        "Metadata": {"Ticket": "T-1", "nested": {"Keep": ["As", "Given"]}},
    }


def camel_info(session_id: str) -> dict[str, Any]:
    def lower_first(key: str) -> str:
        return key[0].lower() + key[1:]

    def convert(value: Any) -> Any:
        if isinstance(value, dict):
            return {
                lower_first(k): (v if k == "Metadata" else convert(v)) for k, v in value.items()
            }
        if isinstance(value, list):
            return [convert(v) for v in value]
        return value

    info: dict[str, Any] = convert(pascal_info(session_id))
    return info


def mixed_info(session_id: str) -> dict[str, Any]:
    pascal, camel = pascal_info(session_id), camel_info(session_id)
    info: dict[str, Any] = {}
    for i, (p_key, c_key) in enumerate(zip(pascal, camel, strict=True)):
        info[p_key if i % 2 else c_key] = pascal[p_key]
    info["Contacts" if "Contacts" in info else "contacts"] = [
        camel["contacts"][0],
        pascal["Contacts"][1],
    ]
    return info


@pytest.mark.parametrize("style", [pascal_info, camel_info, mixed_info], ids=lambda f: f.__name__)
def test_capture_json_key_styles_read_back(live, style):
    token = live.token("capture", "read")
    session_id = new_session()
    call_id = raw_capture(live, token, style(session_id))
    doc = details(live, token, call_id)
    assert doc["callId"] == call_id
    assert doc["sessionId"] == session_id
    assert doc["masterCallId"] == "master-42"
    assert instant(doc["startTime"]) == utc(4, 23, 0, 123456)
    assert instant(doc["endTime"]) == utc(4, 24, 0, 628590)
    assert doc["direction"] == "Outbound"
    assert doc["numberDialed"] == "5125550000"
    assert doc["audioFormat"] == "wav"
    assert doc["metadata"] == {"Ticket": "T-1", "nested": {"Keep": ["As", "Given"]}}
    agent, customer = doc["contacts"]
    assert agent["type"] == "Agent"
    assert agent["channel"] == 0
    assert agent["referenceId"] == "agent-7"
    assert (agent["firstName"], agent["lastName"]) == ("Alice", "Agent")
    assert agent["phoneNumber"] is None
    assert agent["phoneE164"] is None
    assert customer["type"] == "Customer"
    assert customer["channel"] == 1
    assert customer["phoneNumber"] == "(512) 555-1234"
    assert customer["phoneE164"] == "+15125551234"
    assert (customer["firstName"], customer["lastName"]) == ("Bob", "Caller")
    assert customer["referenceId"] is None


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("2024-01-01T04:23:00", utc(4, 23, 0)),
        ("2024-01-01T04:24:00.62859Z", utc(4, 24, 0, 628590)),
        ("2024-01-01T04:23:00.1234567Z", utc(4, 23, 0, 123456)),
        ("2024-01-01T04:23:20.000000Z", utc(4, 23, 20)),
        ("2024-01-01T04:23:00+00:00", utc(4, 23, 0)),
        ("2024-01-01T06:23:00+02:00", utc(4, 23, 0)),
        ("2024-01-01T04:23:00.5Z", utc(4, 23, 0, 500000)),
    ],
)
def test_capture_time_formats(live, given, expected):
    token = live.token("capture", "read")
    info = call_info(new_session(), startTime=given)
    info.pop("endTime")
    doc = details(live, token, raw_capture(live, token, info))
    assert instant(doc["startTime"]) == expected
    assert doc["endTime"] is None


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2024-01-01T04:23:00", "2024-01-01T04:23:00Z"),
        ("2024-01-01T06:23:00+02:00", "2024-01-01T04:23:00.0000000Z"),
        ("2024-01-01T04:23:00.1234567Z", "2024-01-01T04:23:00.1234567Z"),
    ],
)
def test_end_time_equal_to_start_time_is_accepted(live, start, end):
    token = live.token("capture", "read")
    info = call_info(new_session(), startTime=start, endTime=end)
    doc = details(live, token, raw_capture(live, token, info))
    assert instant(doc["startTime"]) == instant(doc["endTime"])


def test_contact_types_in_any_case(live):
    token = live.token("capture", "read")
    contacts = [
        {"type": "agent", "channel": 0, "firstName": "Alice"},
        {"type": "customer", "channel": 1, "phoneNumber": "512-555-1234"},
        {"Type": "CUSTOMER", "Channel": 2, "PhoneNumber": "1-512-555-9876"},
    ]
    info = call_info(new_session(), contacts=contacts)
    doc = details(live, token, raw_capture(live, token, info))
    assert [c["type"].lower() for c in doc["contacts"]] == ["agent", "customer", "customer"]
    assert [c["phoneE164"] for c in doc["contacts"]] == [None, "+15125551234", "+15125559876"]


def test_empty_strings_mean_absent(live):
    token = live.token("capture", "read")
    contacts = [
        {"type": "Agent", "channel": 0, "phoneNumber": "", "firstName": "", "referenceId": ""},
        {"Type": "Customer", "PhoneNumber": "", "LastName": "", "FirstName": "Bob"},
    ]
    info = call_info(
        new_session(),
        masterCallId="",
        numberDialed="",
        endTime="",
        direction="",
        contacts=contacts,
    )
    doc = details(live, token, raw_capture(live, token, info))
    assert doc["masterCallId"] is None
    assert doc["numberDialed"] is None
    assert doc["endTime"] is None
    assert doc["direction"] == "Unknown"
    agent, customer = doc["contacts"]
    assert agent["phoneNumber"] is None
    assert agent["phoneE164"] is None
    assert agent["firstName"] is None
    assert agent["referenceId"] is None
    assert customer["phoneNumber"] is None
    assert customer["phoneE164"] is None
    assert customer["lastName"] is None
    assert customer["firstName"] == "Bob"


def test_null_metadata_is_accepted(live):
    token = live.token("capture", "read")
    info = call_info(new_session(), metadata=None)
    doc = details(live, token, raw_capture(live, token, info))
    assert doc["metadata"] is None


@pytest.mark.parametrize("spelling", [("utcStart", "utcEnd"), ("UtcStart", "UtcEnd")])
def test_utc_start_and_end_aliases(live, spelling):
    token = live.token("capture", "read")
    info = call_info(new_session())
    del info["startTime"], info["endTime"]
    info[spelling[0]] = "2024-03-05T10:00:00Z"
    info[spelling[1]] = "2024-03-05T10:02:30.5Z"
    doc = details(live, token, raw_capture(live, token, info))
    assert instant(doc["startTime"]) == utc(10, 0, 0, day=5, month=3)
    assert instant(doc["endTime"]) == utc(10, 2, 30, 500000, day=5, month=3)


@pytest.mark.parametrize(
    ("phone", "e164"),
    [
        ("anonymous", None),
        ("1234", None),
        ("+44 20 7946 0958", "+442079460958"),
        ("Anonymous Caller <sip:anonymous@anonymous.invalid>", None),
        ("+", None),
    ],
)
def test_a_phone_number_never_fails_a_capture(live, phone, e164):
    token = live.token("capture", "read")
    contacts = [
        {"Type": "Agent", "Channel": 0, "PhoneNumber": "1234"},
        {"Type": "Customer", "Channel": 1, "PhoneNumber": phone},
    ]
    info = call_info(new_session(), contacts=contacts, numberDialed=phone)
    doc = details(live, token, raw_capture(live, token, info))
    customer = doc["contacts"][1]
    assert customer["phoneNumber"] == phone
    assert customer["phoneE164"] == e164
    assert doc["numberDialed"] == phone


# --------------------------------------------------------------------------- status (§4)


def wait_for_complete(port: int, token: str, session_id: str, deadline_s: float = 30) -> Any:
    deadline = time.monotonic() + deadline_s
    while True:
        item = assert_tethr_json(
            raw_json(port, "/callCapture/v1/status", token, {"callSessionIds": [session_id]})
        )["callSessions"][0]
        if item["status"] == "Complete" or time.monotonic() > deadline:
            return item
        time.sleep(0.05)


def status_both_ways(port: int, token: str, session_id: str) -> dict[str, Any]:
    """One session's status through both v1 status endpoints, held to Tethr's clients' parsers.

    Both endpoints must give the same answer; it is returned.
    """
    many = assert_tethr_json(
        raw_json(port, "/callCapture/v1/status", token, {"CallSessionIds": [session_id]})
    )
    assert set(many) == {"callSessions"}
    (item,) = many["callSessions"]
    one = assert_tethr_json(raw_get(port, f"/callCapture/v1/status/{session_id}", token))
    assert_tethr_clients_read(item)
    assert_tethr_clients_read(one)
    assert item == one
    return one


@pytest.mark.parametrize("key", ["CallSessionIds", "callSessionIds", "callsessionids"])
def test_status_over_raw_socket(live, key):
    token = live.token("capture")
    session_id = new_session()
    call_id = raw_capture(live, token, call_info(session_id), wav_bytes(2.0))
    unknown_a, unknown_b = new_session(), new_session()
    asked = [unknown_a, session_id, unknown_b]
    doc = assert_tethr_json(raw_json(live.port, "/callCapture/v1/status", token, {key: asked}))
    assert set(doc) == {"callSessions"}
    items = doc["callSessions"]
    assert [i["sessionId"] for i in items] == asked
    for item in items:
        assert_tethr_clients_read(item)
    for item in (items[0], items[2]):
        assert item == {"sessionId": item["sessionId"], "status": "NotFound"}
    assert items[1]["callId"] == call_id
    assert items[1]["status"] in ("Concluded", "Complete")

    final = wait_for_complete(live.port, token, session_id)
    assert final == {
        "callId": call_id,
        "sessionId": session_id,
        "status": "Complete",
        "durationSec": 2,
    }
    assert status_both_ways(live.port, token, session_id) == final


def test_status_of_one_session_over_raw_socket(live):
    token = live.token("capture")
    session_id = new_session()
    call_id = raw_capture(live, token, call_info(session_id))
    doc = assert_tethr_json(raw_get(live.port, f"/callCapture/v1/status/{session_id}", token))
    assert_tethr_clients_read(doc)
    assert doc["callId"] == call_id
    assert doc["sessionId"] == session_id


def test_status_of_an_unknown_call_has_no_null(live):
    token = live.token("capture")
    assert status_both_ways(live.port, token, "nope-404") == {
        "sessionId": "nope-404",
        "status": "NotFound",
    }


@pytest.mark.parametrize("seconds", [0.4, 2.6])
def test_duration_is_whole_seconds(live, seconds):
    token = live.token("capture")
    session_id = new_session()
    call_id = raw_capture(live, token, call_info(session_id), wav_bytes(seconds))
    assert wait_for_complete(live.port, token, session_id)["status"] == "Complete"
    assert status_both_ways(live.port, token, session_id) == {
        "callId": call_id,
        "sessionId": session_id,
        "status": "Complete",
        "durationSec": round(seconds),
    }


def test_status_of_an_unmeasurable_call_has_no_duration_key(live):
    token = live.token("capture")
    session_id = new_session()
    call_id = raw_capture(live, token, call_info(session_id), b"not audio at all " * 64)
    assert wait_for_complete(live.port, token, session_id)["status"] == "Complete"
    assert status_both_ways(live.port, token, session_id) == {
        "callId": call_id,
        "sessionId": session_id,
        "status": "Complete",
    }


def _purge_sessions(live: Any, session_ids: list[str]) -> dict[str, Any]:
    with live.client(live.token("purge")) as client:
        answer = client.post("/purge/v1/calls/sessions", json={"ids": session_ids})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


@pytest.mark.parametrize("excluded", [False, True], ids=["complete", "excluded"])
def test_a_call_being_purged_keeps_its_status_until_erased(live, excluded):
    token = live.token("capture")
    session_id = new_session()
    call_id = raw_capture(live, token, call_info(session_id), wav_bytes(1.0))
    before = wait_for_complete(live.port, token, session_id)
    if excluded:
        assert_tethr_json(
            raw_json(
                live.port, "/callCapture/v1/status/exclude", token, {"CallSessionIds": [session_id]}
            )
        )
        before = {**before, "status": "Excluded"}
    live.app_state.workers.close()  # the erasure stays queued while we look
    accepted = _purge_sessions(live, [session_id])
    assert accepted["items"][0]["status"] == "Purging"
    assert status_both_ways(live.port, token, session_id) == before
    assert before["callId"] == call_id
    with live.client(live.token("purge")) as client:
        tracked = client.get(f"/purge/v1/requests/{accepted['requestId']}").json()
    assert tracked["items"][0]["status"] == "Purging"


def test_an_erased_call_is_not_found_without_call_id(live):
    token = live.token("capture")
    session_id = new_session()
    raw_capture(live, token, call_info(session_id), wav_bytes(1.0))
    accepted = _purge_sessions(live, [session_id])
    with live.client(live.token("purge")) as client:
        deadline = time.monotonic() + 30
        while (
            client.get(f"/purge/v1/requests/{accepted['requestId']}").json()["state"] == "Purging"
        ):
            assert time.monotonic() < deadline, "purge never finished"
            time.sleep(0.05)
    assert status_both_ways(live.port, token, session_id) == {
        "sessionId": session_id,
        "status": "NotFound",
    }


# --------------------------------------------------------------------------- heartbeat (§10)


def heartbeat(name: str, status: Any) -> dict[str, Any]:
    return {
        "Status": status,
        "TimeStamp": "2024-01-01T04:23:00.1234567Z",
        "Name": name,
        "SoftwareVersion": "1.2",
    }


def test_heartbeats_accepted_and_last_one_per_name_listed(live):
    token = live.token("capture")
    for body in (
        heartbeat("rec-1", 1),
        heartbeat("rec-2", "Healthy"),
        heartbeat("rec-1", 20),
        {"status": "warning", "timeStamp": "2024-01-01T05:00:00Z", "name": "rec-3"},
        heartbeat("rec-2", 30),
        heartbeat("rec-2", "Healthy"),
    ):
        answer = raw_json(live.port, "/callCapture/v1/monitor", token, body)
        assert answer.status == 200, (body, answer.body)
        assert answer.header("content-type") == TETHR_JSON

    listed = assert_tethr_json(raw_get(live.port, "/callCapture/v1/monitor", live.token("admin")))
    by_name = {item["name"]: item for item in listed}
    assert len(listed) == len(by_name) == 3
    assert by_name["rec-1"]["status"] == "Error"
    assert by_name["rec-2"]["status"] == "Healthy"
    assert by_name["rec-3"]["status"] == "Warning"
    assert by_name["rec-1"]["softwareVersion"] == "1.2"
    assert by_name["rec-1"]["timeStamp"] == "2024-01-01T04:23:00.1234567Z"


def test_heartbeat_list_needs_admin(live):
    answer = raw_get(live.port, "/callCapture/v1/monitor", live.token("capture"))
    assert_problem(answer, 403)


@pytest.mark.parametrize(
    "status",
    [
        7,
        "Sleepy",
        -1,
        None,
        "1",
        True,  # JSON true is not the integer 1
    ],
)
def test_bad_heartbeat_status_is_a_problem(live, status):
    token = live.token("capture")
    answer = raw_json(live.port, "/callCapture/v1/monitor", token, heartbeat("rec-x", status))
    assert_problem(answer, 400)
    listed = assert_tethr_json(raw_get(live.port, "/callCapture/v1/monitor", live.token("admin")))
    assert listed == []


# --------------------------------------------------------------------------- errors on the wire


def test_duplicate_live_session_is_409_problem(live):
    token = live.token("capture")
    session_id = new_session()
    raw_capture(live, token, call_info(session_id))
    boundary = uuid.uuid4().hex
    body = multipart_body(boundary, capture_parts(call_info(session_id), wav_bytes()))
    request = capture_request(token, body, f"multipart/form-data; boundary={boundary}")
    doc = assert_problem(send_raw(live.port, request), 409)
    assert session_id in doc["detail"]
    chunked = capture_request(
        token, body, f'multipart/form-data; boundary="{boundary}"', chunk_sizes=[100, 3000]
    )
    assert_problem(send_raw(live.port, chunked), 409)


def test_upload_as_json_is_415_problem(live):
    token = live.token("capture")
    body = json.dumps(call_info(new_session())).encode()
    request = capture_request(token, body, "application/json")
    assert_problem(send_raw(live.port, request), 415)
