"""Console test helpers: log in over HTTP as a browser would, read hidden form fields."""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx

from helpers import TLS

PASSWORD = "correct horse battery staple"


def hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found is not None, f"no hidden field {name!r} in the page"
    return found.group(1)


@dataclass
class Browserless:
    """A console session driven over HTTP (what a browser sends, without the browser)."""

    http: httpx.Client
    csrf: str

    def post(self, path: str, **fields: str) -> httpx.Response:
        return self.http.post(path, data={"csrf": self.csrf, **fields})


def log_in(url: str, name: str, password: str = PASSWORD) -> Browserless:
    http = httpx.Client(base_url=url, timeout=30, verify=TLS)
    page = http.get("/console/login")
    answer = http.post(
        "/console/login",
        data={
            "login_token": hidden(page.text, "login_token"),
            "username": name,
            "password": password,
        },
    )
    assert answer.status_code == 303, answer.text
    home = http.get("/console/", follow_redirects=True)
    return Browserless(http=http, csrf=hidden(home.text, "csrf"))
