"""The CLI run through its entry point (``callvault.cli.main.main``) in the test's process, as a
process would run it: its arguments, environment, stdin, stdout and stderr are the run's own, and
its exit status is what ``sys.exit`` was given (a traceback and 1 for an uncaught exception, as
Python does). It talks to a live server over real HTTP, or opens a store, as the process does;
what it saves is the ~0.5-1 s of interpreter start and imports of every ``python -m
callvault.cli.main``. Each command group keeps at least one test that runs real processes
(tests/cli/conftest.py: the ``cli_process`` marker)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager

CLI = [sys.executable, "-m", "callvault.cli.main"]


@contextmanager
def _environment(env: dict[str, str]) -> Iterator[None]:
    """``os.environ`` is ``env`` for the block (in place: rich reads its own reference), and the
    CLI's module-level rich consoles are sized from it as they would be at a process's start:
    rich reads COLUMNS and LINES once, when a console is made (at import for ``output.stderr``,
    here under pytest-xdist's COLUMNS=80)."""
    from rich.console import Console

    consoles = [
        value
        for name, module in list(sys.modules.items())
        if name.startswith("callvault.cli") and module is not None
        for value in list(vars(module).values())  # a snapshot: other threads import too
        if isinstance(value, Console)
    ]
    sizes = [(console._width, console._height) for console in consoles]
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    columns, lines = env.get("COLUMNS", ""), env.get("LINES", "")
    for console in consoles:
        console._width = int(columns) if columns.isdigit() else None
        console._height = int(lines) if lines.isdigit() else None
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
        for console, (width, height) in zip(consoles, sizes, strict=True):
            console._width, console._height = width, height


def run_in_process(
    args: list[str], stdin: str | None, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """``callvault ARGS`` through its entry point in this process, as a process would run it."""
    from callvault.cli.main import main

    streams = (sys.argv, sys.stdin, sys.stdout, sys.stderr)
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", newline="")
    err = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", newline="")
    code: int
    try:
        sys.argv = ["callvault", *args]
        sys.stdin = io.TextIOWrapper(io.BytesIO((stdin or "").encode()), encoding="utf-8")
        sys.stdout, sys.stderr = out, err
        with _environment(env):
            try:
                main()
                code = 0
            except SystemExit as exc:
                if exc.code is None or isinstance(exc.code, int):
                    code = exc.code or 0
                else:
                    print(exc.code, file=err)
                    code = 1
            except KeyboardInterrupt:
                raise
            except BaseException:
                traceback.print_exc(file=err)
                code = 1
    finally:
        sys.argv, sys.stdin, sys.stdout, sys.stderr = streams
    texts = []
    for stream in (out, err):
        stream.flush()
        text = stream.buffer.getvalue().decode()  # type: ignore[attr-defined]
        texts.append(text.replace("\r\n", "\n").replace("\r", "\n"))  # text=True's newlines
    return subprocess.CompletedProcess([*CLI, *args], code, texts[0], texts[1])
