"""The ``emailhook`` console script: one group, its commands in the modules beside this one."""

from __future__ import annotations

import importlib

import click

from emailhook.composition import load_settings
from emailhook.observability import configure

#: every command, by name: ``module:attribute`` in this package. A command's module is
#: imported when it runs or is listed, not before: ``emailhook serve`` then loads what serving
#: needs (settings, the migration), not the send pipeline or Celery (0.9 s of CPU a start
#: against 0.55; the tests start ~100 commands). ``LazyGroup`` is click's documented way.
COMMANDS = {
    "run": "serving:run",
    "serve": "serving:serve",
    "worker": "serving:worker",
    "relay": "serving:relay",
    "inbox": "inbox:inbox_group",
    "backlog": "inbox:backlog",
    "events": "inbox:events",
    "send": "sending:send",
    "outbox": "sending:outbox_group",
    "campaign": "campaigns:campaign_group",
    "db": "schema:db",
    "state": "state:state_group",
    "spool": "spool:spool_group",
    "suppressions": "suppressions:suppressions_group",
    "reconcile": "pulls:reconcile",
    "prune": "prune:prune",
}


class LazyGroup(click.Group):
    """A group whose commands (``COMMANDS``) are imported when looked up."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        where = COMMANDS.get(cmd_name)
        if where is None:
            return super().get_command(ctx, cmd_name)
        module, _, attribute = where.partition(":")
        command = getattr(importlib.import_module(f"{__package__}.{module}"), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{where} is not a click command")
        return command


@click.group(cls=LazyGroup)
@click.pass_context
def main(ctx: click.Context) -> None:
    """emailhook: webhooks in, each event stored once; e-mail out, each message sent once."""
    settings = load_settings()
    configure(settings, metrics=False)
    ctx.obj = settings
