"""``govflow worker``: fires due timers. Several workers may run against one PostgreSQL database:
each takes one due instance at a time with ``FOR UPDATE SKIP LOCKED``, so no timer fires twice."""
from __future__ import annotations

import logging
import threading
from datetime import timedelta

from . import audit, instances
from .errors import GovflowError
from .models import Instance
from .system import Govflow

log = logging.getLogger(__name__)
RETRY_AFTER = timedelta(minutes=15)


def run_once(gf: Govflow, limit: int = 1000) -> int:
    """Fire every due timer (up to ``limit`` instances); return the number of timers fired."""
    fired = 0
    for _ in range(limit):
        instance_id = None
        try:
            with gf.store.write() as session:
                instance_id = instances.claim_due_instance(session, gf.now(session))
                if instance_id is None:
                    break
                fired += instances.fire_timers(instances.open_step(gf, session, instance_id))
        except Exception as err:  # noqa: BLE001 - one broken instance must not stop the others' timers
            if instance_id is None:
                raise
            _postpone(gf, instance_id, err)
    return fired


def _postpone(gf: Govflow, instance_id: int, err: Exception) -> None:
    """A timer whose step fails (the diagram's code, a rule) is retried later; the failure is logged."""
    reason = err.message if isinstance(err, GovflowError) else f"{type(err).__name__}: {err}"
    log.warning("timer of instance %s failed: %s", instance_id, reason, exc_info=not isinstance(err, GovflowError))
    with gf.store.write() as session:
        now = gf.now(session)
        session.get(Instance, instance_id).next_timer_at = now + RETRY_AFTER
        audit.append(session, "timer_failed", "system", now, {"reason": reason, "retry_after_minutes": 15},
                     instance_id)


def run_forever(gf: Govflow, interval: float, stop: threading.Event | None = None) -> None:
    stop = stop or threading.Event()
    while not stop.is_set():
        try:
            run_once(gf)
        except Exception:   # keep the worker alive; the next round retries
            log.exception("worker round failed")
        stop.wait(interval)
