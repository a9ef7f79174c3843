"""The assembled system: settings, the store, the clock and the per-process caches. One per
process (app server or worker); every service function takes it as its first argument."""
from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import profiles
from ..bpmn.definitions import DefinitionCache
from ..config import Settings
from ..engine.script_workers import Limits, ScriptWorkers
from ..errors import NotFound
from ..people.org import Organisation
from ..records.runtime import Runtime
from ..store import clock
from ..store.clock import Clock
from ..store.database import Store
from ..store.models import CalendarDay, CalendarYear, OrganisationVersion, Revision
from ..store.workflow_cache import WorkflowCache
from ..time.workdays import WorkdayCalendar

# Read on every step: Core statements built once (the ORM's per-query bookkeeping was a step's largest cost).
_ORG, _REVISION = OrganisationVersion.__table__, Revision.__table__
_LATEST_ORG = select(_ORG.c.version).order_by(_ORG.c.version.desc()).limit(1)
_CALENDAR_REVISION = select(_REVISION.c.token).where(_REVISION.c.name == "calendar")
_SETTINGS = select(_LATEST_ORG.scalar_subquery(), _CALENDAR_REVISION.scalar_subquery())
_MOMENT = _SETTINGS.add_columns(clock.FROZEN_AT, clock.OFFSET_SECONDS)
_WHO_AND_WHEN = select(_LATEST_ORG.scalar_subquery(), clock.FROZEN_AT, clock.OFFSET_SECONDS)
_CALENDAR_DAYS = select(CalendarDay.__table__.c.day, CalendarDay.__table__.c.workday, CalendarDay.__table__.c.note)
_CALENDAR_YEARS = select(CalendarYear.__table__.c.year)


class Govflow:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.store = Store(settings.database_url, seal_key=settings.seal_key())
        self.clock = Clock(adjustable=settings.mode != "production")
        self.definitions = DefinitionCache()
        self.workflows = WorkflowCache()
        self.scripts = ScriptWorkers.shared(Limits(settings.script_memory_mb, settings.script_seconds,
                                                   settings.script_workers))
        self._org: tuple[int, Organisation] | None = None
        self._calendar_rows: tuple[str, tuple[dict, frozenset]] | None = None

    def organisation(self, session: Session) -> Organisation:
        return self._organisation(session, session.connection().scalar(_LATEST_ORG))

    def runtime(self, session: Session) -> Runtime:
        return self._runtime(session, *session.connection().execute(_SETTINGS).one())

    def moment(self, session: Session) -> tuple[datetime, Runtime]:
        """The time and the runtime, read together: a step starts with them, in one statement."""
        version, calendar_revision, frozen_at, offset_seconds = session.connection().execute(_MOMENT).one()
        return self.clock.at(frozen_at, offset_seconds), self._runtime(session, version, calendar_revision)

    def now_and_organisation(self, session: Session) -> tuple[datetime, Callable[[], Organisation]]:
        """What every request's authentication reads, in one statement: the time, and the organisation
        (a call: it raises when none is loaded, which must not answer before the token is checked)."""
        version, frozen_at, offset_seconds = session.connection().execute(_WHO_AND_WHEN).one()
        return self.clock.at(frozen_at, offset_seconds), lambda: self._organisation(session, version)

    def _runtime(self, session: Session, version: int | None, calendar_revision: str) -> Runtime:
        org = self._organisation(session, version)
        return Runtime(org, profiles.load(org.profile_id), lambda: self._calendar(session, org, calendar_revision),
                       session)

    def calendar(self, session: Session, org: Organisation | None = None) -> WorkdayCalendar:
        org = org or self.organisation(session)
        return self._calendar(session, org, session.connection().scalar(_CALENDAR_REVISION))

    def _organisation(self, session: Session, version: int | None) -> Organisation:
        if version is None:
            raise NotFound("尚未载入组织机构：请先运行 govflow init --org 组织机构.toml")
        cached = self._org
        if cached is None or cached[0] != version:
            document = json.loads(session.get(OrganisationVersion, version).document)
            cached = self._org = (version, Organisation.from_document(document))
        return cached[1]

    def _calendar(self, session: Session, org: Organisation, revision: str | None) -> WorkdayCalendar:
        """A new calendar per step (it records the deadlines the step counts), from the overrides and
        published years read again only when their revision moved (and always without one)."""
        cached = self._calendar_rows
        if cached is None or revision is None or cached[0] != revision:
            db = session.connection()
            rows = ({day: (workday, note) for day, workday, note in db.execute(_CALENDAR_DAYS)},
                    frozenset(db.scalars(_CALENDAR_YEARS)))
            cached = self._calendar_rows = (revision, rows)
        overrides, years = cached[1]
        return WorkdayCalendar(overrides, years, org.office_day_end)     # it only reads them

    def now(self, session: Session):
        return self.clock.now(session)
