"""Convening a 常务会议: every meeting, arranged by the office or planned on the profile's cadence
when a topic is scheduled, runs processes/standing_meeting.bpmn (agenda, sign-in and quorum,
minutes). The worker convenes the planned meetings that have no process yet."""
from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import NotFound
from ..people.auth import SYSTEM, Actor
from ..store.models import Instance, Meeting
from ..time.timeutil import isoformat
from . import instances
from .system import Govflow

log = logging.getLogger(__name__)
MEETING_PROCESS = "standing_meeting"


def convene(gf: Govflow, session: Session, meeting: Meeting, actor: Actor) -> Instance:
    data = {"meeting_id": meeting.id, "title": meeting.title, "at": isoformat(meeting.scheduled_at)}
    instance = instances.start(gf, session, actor, MEETING_PROCESS, data, None, meeting.title)
    meeting.instance_id = instance.id
    return instance


def convene_planned(gf: Govflow) -> int:
    """Start the process of each planned meeting that has none, one meeting per transaction. A
    meeting that cannot be convened is logged and left for the next round; the others go on."""
    with gf.store.read() as session:
        try:
            gf.definitions.latest(session, MEETING_PROCESS)
        except NotFound:
            return 0
        waiting = list(session.scalars(select(Meeting.id).where(Meeting.instance_id.is_(None),
                                                                Meeting.status == "planned")))
    started = 0
    for meeting_id in waiting:
        try:
            with gf.store.write() as session:
                meeting = session.scalars(select(Meeting).where(Meeting.id == meeting_id, Meeting.instance_id.is_(None))
                                          .with_for_update(skip_locked=True)).first()
                if meeting is not None:
                    convene(gf, session, meeting, SYSTEM)
                    started += 1
        except Exception:  # noqa: BLE001 - one meeting must not stop the worker's round
            log.exception("could not convene meeting %s", meeting_id)
    return started
