"""The bench server's no-op is a floor for callvault's routes: it must not cost more to reach
than they do. FastAPI matches a request against each top-level route in turn (an included
router by its own routes), so the no-op's place in that list is part of what it measures."""

from __future__ import annotations

import sys

from starlette.routing import Match

from helpers import BENCH

sys.path.insert(0, str(BENCH))
from intake_server import build_app


def _scope(app, path):
    return {
        "type": "http",
        "method": "POST",
        "path": path,
        "root_path": "",
        "headers": [],
        "query_string": b"",
        "app": app,
    }


def test_the_noop_is_the_first_route_a_request_is_matched_against(tmp_path):
    app = build_app(tmp_path / "data")
    scope = _scope(app, "/bench/noop")
    matched = [
        i for i, r in enumerate(app.router.routes) if r.matches(dict(scope))[0] is Match.FULL
    ]
    assert matched == [0]


def test_callvault_routes_still_answer_behind_it(tmp_path):
    app = build_app(tmp_path / "data")
    scope = _scope(app, "/purge/v1/calls/customer")
    assert any(r.matches(dict(scope))[0] is Match.FULL for r in app.router.routes[1:])
