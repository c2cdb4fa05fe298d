"""Tethr's two APIs over one set of handlers: v1 (the seed's) and v2 (``Tethr.Sdk``'s, contract
§16) take and answer the same things under other keys.

Each endpoint's logic is written once, in the v1 module that declares it (``purge``, ``status``,
``capture``): a function that builds the route's handler for a ``Shape``. The v2 modules only
declare paths, models and ``V2``. A rule added to a handler (a query parameter, a check, a
metric) so reaches v1 and v2 alike; what differs between them is said here, and in the models.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from callvault.capture.info import CaptureInfo, parse_info, parse_v2_info
from callvault.capture.reads import CallStatus
from callvault.purge.service import PurgeItem


@dataclass(frozen=True)
class Shape:
    """How one version of Tethr's API spells what it takes and answers, beyond its models."""

    # Capture: the key of the stored call's ID in the answer, and the reader of the `info` part.
    call_id: str
    parse_info: Callable[[bytes], CaptureInfo]
    # Status: the key of the list of calls, and one call's status.
    sessions: str
    session: Callable[[CallStatus], dict[str, Any]]
    # Purge: one item of an answer.
    purge_item: Callable[[PurgeItem], dict[str, Any]]


# Side by side: besides the models a route declares, all that v1 and v2 do differently.
V1 = Shape("callId", parse_info, "callSessions", CallStatus.to_json, PurgeItem.to_json)
V2 = Shape("id", parse_v2_info, "sessions", CallStatus.to_v2_json, PurgeItem.to_v2_json)

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def declared(endpoint: Endpoint, **annotations: Any) -> Endpoint:
    """``endpoint`` as FastAPI is to read it: each parameter named here annotated as given (the
    route's body model, a documented query parameter), or left out where given ``None``.

    FastAPI reads a route's body model and parameters from its endpoint's signature: so one
    handler takes v1's model on one route and v2's on its twin, with the same OpenAPI document
    as two handlers written out."""
    signature = inspect.signature(endpoint)
    parameters = [
        parameter.replace(annotation=annotations.get(parameter.name, parameter.annotation))
        for parameter in signature.parameters.values()
        if parameter.name not in annotations or annotations[parameter.name] is not None
    ]
    endpoint.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    return endpoint
