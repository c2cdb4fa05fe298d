"""Options written once and shared by many commands: the parameters of a *dependency function*
become options of every command that ``uses`` it, and the command receives what it returns::

    def connection(url: Url = None, token: Token = None) -> Connection: ...

    @uses(connection)
    def status(sessions: Sessions, conn: Connection) -> None: ...

The options stay on each command (not on a group callback), so they go anywhere after the
command's name, before or after its arguments, and the command's own ``--help`` lists them. The
command's parameter annotated with the dependency's return type is the one that receives it.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

R = TypeVar("R")


def uses(build: Callable[..., Any]) -> Callable[[Callable[..., R]], Callable[..., R]]:
    shared = inspect.signature(build, eval_str=True)
    provides = shared.return_annotation

    def decorate(command: Callable[..., R]) -> Callable[..., R]:
        own = inspect.signature(command, eval_str=True)
        slots = [p.name for p in own.parameters.values() if p.annotation is provides]
        if len(slots) != 1:
            raise TypeError(f"{command.__name__} needs one parameter of type {provides!r}")
        slot = slots[0]
        clash = set(own.parameters) & set(shared.parameters)
        if clash:
            raise TypeError(f"{command.__name__} repeats shared options {sorted(clash)}")

        @functools.wraps(command)
        def wrapper(**given: Any) -> R:
            options = {name: given.pop(name) for name in shared.parameters}
            return command(**given, **{slot: build(**options)})

        params = [
            p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
            for p in [*own.parameters.values(), *shared.parameters.values()]
            if p.name != slot
        ]
        wrapper.__signature__ = own.replace(parameters=params)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in params}
        return wrapper

    return decorate
