"""What a step of a workflow may consult besides its own data: the organisation, the
jurisdiction's profile, the 工作日 calendar, the 发文字号 sequences, the 常务会议 and 督办 records,
and the processes the step starts. Built per step; the calendar is read only if the step computes
a deadline."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Callable

from sqlalchemy.orm import Session

from ..people.org import Organisation
from ..profiles import Profile
from ..time.workdays import Deadline, WorkdayCalendar
from .decisions import Decisions
from .followups import Followups
from .meetings import Meetings
from .numbering import Numbering


@dataclass
class StartRequest:
    """A process another process's step starts, in the same transaction (督办 items when minutes
    are signed, a topic for the 常务会议 when a decided matter needs changing)."""
    process_id: str
    data: dict
    title: str | None = None
    business_key: str | None = None
    on_started: Callable[[int], None] | None = None   # told the new instance's id
    if_deployed: bool = False      # skip (recorded) rather than fail when the process is not deployed


class Runtime:
    def __init__(self, org: Organisation, profile: Profile, load_calendar: Callable[[], WorkdayCalendar],
                 session: Session):
        self.org = org
        self.profile = profile
        self._load_calendar = load_calendar
        self.numbering = Numbering(session)   # both written in the step's own transaction
        self.meetings = Meetings(session)
        self.followups = Followups(session)
        self.decisions = Decisions(session)      # 重大行政决策 and the records of their steps
        self.session = session                # for the people layer's own records (an approved leave)
        self.starts: list[StartRequest] = []

    def request_start(self, request: StartRequest) -> None:
        self.starts.append(request)

    @cached_property
    def calendar(self) -> WorkdayCalendar:
        return self._load_calendar()

    def computed_deadline(self, text: str) -> Deadline | None:
        """The 工作日 deadline this step counted that falls at ``text``, if any (a script's
        ``workdays(n)`` or an operator's, e.g. a 督办 report's due date)."""
        calendar = self.__dict__.get("calendar")     # never loaded: the step counted no deadline
        return calendar.computed.get(text) if calendar else None
