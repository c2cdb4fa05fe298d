"""Response classes framed as Tethr's clients need them."""

from __future__ import annotations

from starlette.responses import JSONResponse


class TethrJSONResponse(JSONResponse):
    # Tethr's C++ client rejects a bare `application/json`: the charset must be spelled out.
    media_type = "application/json; charset=utf-8"


class ProblemResponse(JSONResponse):
    media_type = "application/problem+json"
