"""The ``callvault`` entry point."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from callvault import __version__
from callvault.cli import (
    audit,
    calls,
    certificates,
    client,
    exports,
    holds,
    redactions,
    retention,
    server,
    suppressions,
    webhooks,
)
from callvault.cli.errors import PROGRAM

app = typer.Typer(
    name="callvault",
    help="callvault: Tethr-compatible call capture with provable call purge.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _print_version(asked: bool) -> None:
    if asked:
        typer.echo(f"{PROGRAM} {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the version and exit.", callback=_print_version, is_eager=True
        ),
    ] = False,
) -> None:
    """callvault: Tethr-compatible call capture with provable call purge."""


app.command("serve", epilog=server.SETTINGS_EPILOG)(server.serve)
app.command("worker", epilog=server.SETTINGS_EPILOG)(server.worker)
app.command("sweep")(server.sweep)
app.command("demo-data")(server.demo_data)
app.add_typer(audit.audit_app, name="audit")
app.add_typer(client.purge_app, name="purge")
app.add_typer(client.requests_app, name="requests")
app.add_typer(holds.holds_app, name="holds")
app.add_typer(retention.retention_app, name="retention")
app.add_typer(suppressions.suppress_app, name="suppress")
app.add_typer(webhooks.webhooks_app, name="webhooks")
app.add_typer(exports.export_app, name="export")
app.command("redact")(redactions.redact)
app.add_typer(certificates.certificate_app, name="certificate")
app.add_typer(certificates.keys_app, name="keys")
app.command("status")(client.status)
app.command("capture")(client.capture)
app.add_typer(server.db_app, name="db")
app.add_typer(server.users_app, name="users")
app.add_typer(calls.calls_app, name="calls")


class _Argument(TyperArgument):
    """An argument written as click writes it: ``NAME``, ``[NAME]``, ``NAME...`` (typer writes
    ``{name}`` and a ``<str>`` type beside it)."""

    def _usage_display_name(self) -> str:
        name = self.display_name_raw if self.required else f"[{self.display_name_raw}]"
        return name + ("..." if self.nargs != 1 else "")

    def _rich_display_name(self) -> str:
        return self.display_name_raw + ("..." if self.nargs != 1 else "")

    @property
    def display_name_raw(self) -> str:
        return (self.metavar or self.name or "").upper()

    def display_type_rich(self, ctx: typer.Context) -> str | None:  # type: ignore[override]
        return None


def _placeholder(option: TyperOption) -> str:
    """What an option's value is called in --help: ``--data-dir DIR``, ``--output
    [table|json|csv]``; flags have none (typer writes ``<bool>``, ``<str>``, ``<path>``)."""
    if option.is_flag:
        return ""
    if option.type_descriptor.is_choice:
        choices = option.type_descriptor.choices or ()
        return "[" + "|".join(str(getattr(c, "value", c)) for c in choices) + "]"
    longest = max(option.opts, key=len).lstrip("-")
    return longest.rsplit("-", 1)[-1].upper()


def _plain_help(command: TyperCommand | TyperGroup) -> None:
    help_option = command.get_help_option(typer.Context(command))  # made once, then cached
    if help_option is not None:
        help_option.metavar = ""
    for param in command.params:
        if isinstance(param, TyperArgument):
            param.__class__ = _Argument
        elif isinstance(param, TyperOption) and param.metavar is None:
            param.metavar = _placeholder(param)
    if isinstance(command, TyperGroup):
        for sub in command.commands.values():
            _plain_help(sub)  # type: ignore[arg-type]


def command_tree() -> TyperCommand | TyperGroup:
    """The click command of ``app``, its help placeholders written as plain words."""
    command = typer.main.get_command(app)
    assert isinstance(command, TyperCommand | TyperGroup)
    _plain_help(command)
    return command


def main() -> None:
    """Run the CLI; a usage error is one line on stderr and exit 2 (click would print a usage
    block and a boxed panel)."""
    try:
        code = command_tree().main(prog_name=PROGRAM, standalone_mode=False)
    except typer.TyperException as exc:  # click's usage errors (typer vendors click)
        if type(exc).__name__ == "NoArgsIsHelpError":  # the help, already printed
            sys.exit(exc.exit_code)
        message = " ".join(exc.format_message().split()).rstrip(".")
        ctx = getattr(exc, "ctx", None)
        if ctx is not None:
            message += f" (see '{ctx.command_path} --help')"
        typer.echo(f"{PROGRAM}: error: {message}", err=True)
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.echo(f"{PROGRAM}: aborted", err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
