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


class Govflow:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.store = Store(settings.database_url)
        self.clock = Clock(adjustable=settings.mode != "production")
        self.definitions = DefinitionCache()
        self.workflows = WorkflowCache()
        self._org: tuple[int, Organisation] | None = None

    def organisation(self, session: Session) -> Organisation:
        version = session.scalar(select(OrganisationVersion.version).order_by(OrganisationVersion.version.desc())
                                 .limit(1))
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
        overrides = {d.day: (d.workday, d.note) for d in session.scalars(select(CalendarDay))}
        years = set(session.scalars(select(CalendarYear.year)))
        return WorkdayCalendar(overrides, years, org.office_day_end)

    def now(self, session: Session):
        return self.clock.now(session)
