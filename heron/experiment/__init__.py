"""Live experiments: record participants, networks, nodes, infos, transmissions, vectors.

Each call is an idempotent upsert by id (ids are unique within an app) sent through the
recorder, so it works in-process and to a remote server alike::

    from heron import experiment

    experiment.participant("p1", worker_id="A1B2", mode="live")        # working
    experiment.participant("p1", status="approved", bonus=0.5)          # later
    experiment.node("n7", network_id="net1", participant_id="p1", type="agent")

Keyword arguments that are not fields of the record go into its ``details`` (Dallinger's
``json_data()``): ``participant("p1", condition="B")``.
"""

from __future__ import annotations

from typing import Any

from heron import emitting
from heron import events as ev
from heron.experiment.dallinger import DallingerSource
from heron.experiment.hooks import Experiment
from heron.experiment.statuses import LEGACY_CODES, MEANINGS, normalize
from heron.experiment.summary import Summary, format_summary

__all__ = [
    "DallingerSource", "Experiment", "LEGACY_CODES", "MEANINGS", "Summary", "format_summary",
    "info", "network", "node", "participant", "transmission", "vector",
]


def _split(kind: type[ev.Event], fields: dict[str, Any]) -> dict[str, Any]:
    known = set(kind.__struct_fields__) - {"id", "kind"}
    details = {k: fields.pop(k) for k in list(fields) if k not in known}
    if details:
        merged = dict(fields.get("details") or {})
        merged.update(details)
        fields["details"] = merged
    return fields


def _record(kind: type[ev.Event], **fields: Any) -> None:
    emitting.emit(kind(**_split(kind, fields)))


def participant(participant_id: str, status: str | int | None = None, **fields: Any) -> None:
    """Create or update a participant. ``status``: a Dallinger status name or a legacy
    numeric code, stored as given; a new participant is ``working`` unless told otherwise.

    Raises ValueError for a status that is neither.
    """
    if status is not None:
        normalize(status)  # a clear error now, not a puzzling count later
        fields["status"] = status
    _record(ev.Participant, participant_id=str(participant_id), **fields)


def network(network_id: str, **fields: Any) -> None:
    """Create or update a network (``role``, ``max_size``, ``full``, ``failed``)."""
    _record(ev.Network, network_id=str(network_id), **fields)


def node(node_id: str, **fields: Any) -> None:
    """Create or update a node (``network_id``, ``participant_id``, ``type``, ``failed``)."""
    _record(ev.Node, node_id=str(node_id), **fields)


def info(info_id: str, **fields: Any) -> None:
    """Create or update an info (``origin_id``, ``type``, ``contents``, ``failed``)."""
    _record(ev.Info, info_id=str(info_id), **fields)


def transmission(transmission_id: str, **fields: Any) -> None:
    """Create or update a transmission (``origin_id``, ``destination_id``, ``info_id``,
    ``status``: pending or received)."""
    if fields.get("status") not in (None, "pending", "received"):
        raise ValueError(f"transmission status {fields['status']!r} is not pending or "
                         "received")
    _record(ev.Transmission, transmission_id=str(transmission_id), **fields)


def vector(vector_id: str, **fields: Any) -> None:
    """Create or update a vector (``origin_id``, ``destination_id``, ``network_id``)."""
    _record(ev.Vector, vector_id=str(vector_id), **fields)
