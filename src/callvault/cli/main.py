"""The ``callvault`` entry point."""

from __future__ import annotations

import importlib
import sys
from functools import cache
from typing import Annotated

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from callvault import __version__
from callvault.cli.errors import PROGRAM

# Every top-level command, in the order --help lists them: (name, module of callvault.cli,
# attribute, a group of subcommands or not, the settings epilog or not). Modules are imported
# when their command is built: ``callvault worker`` loads the server commands alone, not the HTTP
# client and every other command's imports (most of a worker's start, bench/README.md).
COMMANDS: list[tuple[str, str, str, bool, bool]] = [
    ("serve", "server", "serve", False, True),
    ("worker", "server", "worker", False, True),
    ("sweep", "server", "sweep", False, False),
    ("demo-data", "server", "demo_data", False, False),
    ("audit", "audit", "audit_app", True, False),
    ("purge", "client", "purge_app", True, False),
    ("requests", "client", "requests_app", True, False),
    ("holds", "holds", "holds_app", True, False),
    ("retention", "retention", "retention_app", True, False),
    ("suppress", "suppressions", "suppress_app", True, False),
    ("webhooks", "webhooks", "webhooks_app", True, False),
    ("export", "exports", "export_app", True, False),
    ("redact", "redactions", "redact", False, False),
    ("certificate", "certificates", "certificate_app", True, False),
    ("keys", "certificates", "keys_app", True, False),
    ("status", "client", "status", False, False),
    ("capture", "client", "capture", False, False),
    ("db", "server", "db_app", True, False),
    ("users", "server", "users_app", True, False),
    ("calls", "calls", "calls_app", True, False),
]


def _print_version(asked: bool) -> None:
    if asked:
        typer.echo(f"{PROGRAM} {__version__}")
        raise typer.Exit()


def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the version and exit.", callback=_print_version, is_eager=True
        ),
    ] = False,
) -> None:
    """callvault: Tethr-compatible call capture with provable call purge."""


def build_app(only: str | None = None) -> typer.Typer:
    """The CLI with every command, or with command ``only`` alone (its module alone imported)."""
    app = typer.Typer(
        name="callvault",
        help="callvault: Tethr-compatible call capture with provable call purge.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )
    app.callback()(_root)
    for name, module_name, attribute, group, epilog in COMMANDS:
        if only is not None and name != only:
            continue
        module = importlib.import_module(f"callvault.cli.{module_name}")
        target = getattr(module, attribute)
        if group:
            app.add_typer(target, name=name)
        elif epilog:
            app.command(name, epilog=module.SETTINGS_EPILOG)(target)
        else:
            app.command(name)(target)
    return app


@cache
def _whole_app() -> typer.Typer:
    return build_app()


def __getattr__(name: str) -> typer.Typer:
    """``app``: the whole CLI, built on first use."""
    if name == "app":
        return _whole_app()
    raise AttributeError(name)


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


def command_tree(only: str | None = None) -> TyperCommand | TyperGroup:
    """The click command of the CLI (with command ``only`` alone, if given), its help
    placeholders written as plain words."""
    command = typer.main.get_command(_whole_app() if only is None else build_app(only))
    assert isinstance(command, TyperCommand | TyperGroup)
    _plain_help(command)
    return command


def main() -> None:
    """Run the CLI; a usage error is one line on stderr and exit 2 (click would print a usage
    block and a boxed panel)."""
    named = sys.argv[1] if len(sys.argv) > 1 else None
    only = named if named in {c[0] for c in COMMANDS} else None
    try:
        code = command_tree(only).main(prog_name=PROGRAM, standalone_mode=False)
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
