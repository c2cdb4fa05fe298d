"""The ``callvault`` entry point."""

from __future__ import annotations

import typer

from callvault.cli import audit, client, server

app = typer.Typer(
    name="callvault",
    help="callvault: Tethr-compatible call capture with provable call purge.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("serve", epilog=server.SETTINGS_EPILOG)(server.serve)
app.command("worker", epilog=server.SETTINGS_EPILOG)(server.worker)
app.command("sweep")(server.sweep)
app.command("demo-data")(server.demo_data)
app.add_typer(audit.audit_app, name="audit")
app.add_typer(client.purge_app, name="purge")
app.add_typer(client.requests_app, name="requests")
app.command("status")(client.status)
app.command("capture")(client.capture)
app.add_typer(server.db_app, name="db")
app.add_typer(server.users_app, name="users")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
