"""The assembled system: settings, the store, the clock and the per-process caches. One per
process (app server or worker); every service function takes it as its first argument."""
from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import profiles
from .clock import Clock
from .config import Settings
from .definitions import DefinitionCache
from .errors import NotFound
from .models import CalendarDay, CalendarYear, OrganisationVersion
from .org import Organisation
from .runtime import Runtime
from .store import Store
from .workdays import WorkdayCalendar
from .workflow_cache import WorkflowCache

# Read on every step: Core statements built once (the ORM's per-query bookkeeping was a step's largest cost).
_LATEST_ORG = select(OrganisationVersion.__table__.c.version).order_by(OrganisationVersion.__table__.c.version.desc()
                                                                      ).limit(1)
_CALENDAR_DAYS = select(CalendarDay.__table__.c.day, CalendarDay.__table__.c.workday, CalendarDay.__table__.c.note)
_CALENDAR_YEARS = select(CalendarYear.__table__.c.year)


class Govflow:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.store = Store(settings.database_url)
        self.clock = Clock(adjustable=settings.mode != "production")
        self.definitions = DefinitionCache()
        self.workflows = WorkflowCache()
        self._org: tuple[int, Organisation] | None = None

    def organisation(self, session: Session) -> Organisation:
        version = session.connection().scalar(_LATEST_ORG)
        if version is None:
            raise NotFound("尚未载入组织机构：请先运行 govflow init --org 组织机构.toml")
        cached = self._org
        if cached is None or cached[0] != version:
            document = json.loads(session.get(OrganisationVersion, version).document)
            cached = self._org = (version, Organisation.from_document(document))
        return cached[1]

    def runtime(self, session: Session) -> Runtime:
        org = self.organisation(session)
        return Runtime(org, profiles.load(org.profile_id), lambda: self.calendar(session, org), session)

    def calendar(self, session: Session, org: Organisation | None = None) -> WorkdayCalendar:
        org = org or self.organisation(session)
        db = session.connection()
        overrides = {day: (workday, note) for day, workday, note in db.execute(_CALENDAR_DAYS)}
        years = set(db.scalars(_CALENDAR_YEARS))
        return WorkdayCalendar(overrides, years, org.office_day_end)

    def now(self, session: Session):
        return self.clock.now(session)
