"""What auditors read, recorded in the event chain: an audit that is itself audited."""
from __future__ import annotations

from ..people.auth import Actor
from ..store.eventlog import append
from ..work.system import Govflow

VIEW = "audit_viewed"


def record_view(gf: Govflow, actor: Actor, what: str, instance_id: int | None = None) -> None:
    """An auditor's reading, in the chain. The instance goes in the payload, not in the event's
    instance_id: an instance's own chain stays its process history, which replay re-executes."""
    if not actor.has("auditor"):
        return
    payload = {"what": what} if instance_id is None else {"what": what, "instance_id": instance_id}
    with gf.store.write() as session:
        append(session, VIEW, actor.id, gf.now(session), payload)
