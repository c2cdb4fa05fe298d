"""What every console page shares (``console/web.py``).

- The templates ship with the package and never change under a running server, so a page is
  rendered from the compiled template without asking the disk again: every render runs on the
  event loop, where a stat of a slow disk would stall every request.
- Values are shown for people (contract §17): times ISO 8601 UTC, an absent one as "—", an audit
  event's details as JSON values. (test_pages_read.py reads every page in a browser.)"""

from __future__ import annotations

import os
from datetime import UTC, datetime

from callvault.console import web


def test_a_template_once_loaded_is_rendered_without_touching_the_disk(monkeypatch):
    web._env.get_template("login.html")
    asked = []
    real = os.path.getmtime

    def getmtime(path):
        asked.append(path)
        return real(path)

    monkeypatch.setattr(os.path, "getmtime", getmtime)
    web._env.get_template("login.html")
    assert asked == []


def test_times_are_shown_iso_8601_utc_to_the_second_and_absent_ones_as_a_dash():
    assert web.iso_utc("2026-12-07T08:00:00.123456Z") == "2026-12-07T08:00:00Z"
    assert web.iso_utc("2026-12-07T09:00:00+01:00") == "2026-12-07T08:00:00Z"
    assert web.iso_utc(datetime(2026, 12, 7, 8, 0, 0)) == "2026-12-07T08:00:00Z"  # naive: UTC
    assert web.iso_utc("not a time") is None
    shown = web.utc("2026-12-07T08:00:00.5Z")
    assert shown == '<time datetime="2026-12-07T08:00:00Z">2026-12-07T08:00:00Z</time>'
    assert web.utc(None) == web.ABSENT == "—"
    assert web.utc("<b>odd</b>") == "&lt;b&gt;odd&lt;/b&gt;"  # not a time: escaped, as it is


def test_details_are_shown_as_json_values_never_a_repr():
    shown = [
        web.as_json(v)
        for v in (True, None, "text", {"a": 1}, [], datetime(2026, 12, 7, tzinfo=UTC))
    ]
    assert shown == ["true", "null", '"text"', '{"a": 1}', "[]", '"2026-12-07T00:00:00Z"']
    template = web._env.from_string("{% for k, v in d.items() %}{{ k }}: {{ v|json }};{% endfor %}")
    assert template.render(d={"q": "<x>", "n": None}) == "q: &#34;&lt;x&gt;&#34;;n: null;"
