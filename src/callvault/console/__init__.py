"""The compliance console (contract §17): server-rendered pages at ``/console/`` for people who
do not script, on the same services and permissions as the API.

- ``web.py``: rendering, security headers, the session and CSRF checks every route shares;
- ``routes.py``: the pages, thin: each calls the service its API route calls;
- ``templates/`` (Jinja2, autoescaped) and ``static/`` (CSS, the vendored htmx): everything a
  page loads is served by callvault itself, so the console works air-gapped.
"""
