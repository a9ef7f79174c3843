"""What a step of a workflow may consult besides its own data: the organisation, the
jurisdiction's profile, the 工作日 calendar, the 发文字号 sequences and the 常务会议 records. Built
per step; the calendar is read only if the step computes a deadline."""
from __future__ import annotations

from functools import cached_property
from typing import Callable

from sqlalchemy.orm import Session

from .meetings import Meetings
from .numbering import Numbering
from .org import Organisation
from .profiles import Profile
from .workdays import WorkdayCalendar


class Runtime:
    def __init__(self, org: Organisation, profile: Profile, load_calendar: Callable[[], WorkdayCalendar],
                 session: Session):
        self.org = org
        self.profile = profile
        self._load_calendar = load_calendar
        self.numbering = Numbering(session)   # both written in the step's own transaction
        self.meetings = Meetings(session)

    @cached_property
    def calendar(self) -> WorkdayCalendar:
        return self._load_calendar()
