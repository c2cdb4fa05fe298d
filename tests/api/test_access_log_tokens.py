"""An export link's token never reaches a log line (contract §20), however the query spells it:
``?%74oken=`` is ``?token=`` to the server (found by review: the filter matched the literal)."""

from __future__ import annotations

import logging

import pytest

from callvault.api.app import HideLinkTokens

SECRET = "g8prFbWcYtQ2s0"


@pytest.mark.parametrize(
    "target",
    [
        f"/exports/v1/e1/package?token={SECRET}",
        f"/exports/v1/e1/package?%74oken={SECRET}",
        f"/exports/v1/e1/package?x=1&TOKEN={SECRET}",
        f"/exports/v1/e1/%70ackage?%74%6Fken={SECRET}",
    ],
)
def test_the_access_log_line_of_a_package_download_hides_its_query(target):
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", target, "1.1", 200),
        None,
    )
    HideLinkTokens().filter(record)
    line = record.getMessage()
    assert SECRET not in line
    assert line.endswith('?[hidden] HTTP/1.1" 200')


def test_other_lines_keep_their_query_but_not_a_token():
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        "%s",
        (f"/calls/v1/x?limit=5&token={SECRET}",),
        None,
    )
    HideLinkTokens().filter(record)
    assert record.getMessage() == "/calls/v1/x?limit=5&token=[hidden]"
