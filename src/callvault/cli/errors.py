"""One short line on stderr and an exit code: how every command reports failure."""

from __future__ import annotations

from typing import NoReturn

import typer

PROGRAM = "callvault"


def fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"{PROGRAM}: error: {message}", err=True)
    raise typer.Exit(code)
