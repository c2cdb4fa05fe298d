"""The console's templates ship with the package and never change under a running server, so a
page is rendered from the compiled template without asking the disk again: every render runs on
the event loop, where a stat of a slow disk would stall every request."""

from __future__ import annotations

import os

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
