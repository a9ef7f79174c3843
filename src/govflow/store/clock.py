"""The clock the whole system reads.

In production it is the machine's clock. In demo and test mode an administrator may set it (a
frozen instant, or an offset that keeps running) so that deadlines, timers and 催办 can be
exercised without waiting days; the setting lives in the database so that the server and the
workers agree on the time.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import Forbidden
from ..time.timeutil import SHANGHAI
from .models import ClockSetting

_CLOCK = ClockSetting.__table__
_SETTING = select(_CLOCK.c.frozen_at, _CLOCK.c.offset_seconds).where(_CLOCK.c.id == 1)
FROZEN_AT = select(_CLOCK.c.frozen_at).where(_CLOCK.c.id == 1).scalar_subquery()       # for ``Govflow.moment``
OFFSET_SECONDS = select(_CLOCK.c.offset_seconds).where(_CLOCK.c.id == 1).scalar_subquery()


class Clock:
    def __init__(self, adjustable: bool):
        self.adjustable = adjustable

    def now(self, session: Session) -> datetime:
        if not self.adjustable:
            return datetime.now(SHANGHAI)
        setting = session.connection().execute(_SETTING).first()     # read on every step: Core, built once
        return self.at(*(setting or (None, None)))

    def at(self, frozen_at: datetime | None, offset_seconds: float | None) -> datetime:
        """The time, given the stored setting (None, None where there is none)."""
        real = datetime.now(SHANGHAI)
        if not self.adjustable:
            return real
        if frozen_at is not None:
            return frozen_at.astimezone(SHANGHAI)
        return real + timedelta(seconds=offset_seconds or 0.0)

    def set(self, session: Session, at: datetime, frozen: bool) -> None:
        self._require_adjustable()
        setting = session.get(ClockSetting, 1) or ClockSetting(id=1)
        if frozen:
            setting.frozen_at, setting.offset_seconds = at, 0.0
        else:
            setting.frozen_at = None
            setting.offset_seconds = (at - datetime.now(timezone.utc)).total_seconds()
        session.add(setting)
        session.flush()

    def advance(self, session: Session, delta: timedelta) -> datetime:
        self._require_adjustable()
        setting = session.get(ClockSetting, 1) or ClockSetting(id=1, offset_seconds=0.0)
        if setting.frozen_at is not None:
            setting.frozen_at = setting.frozen_at + delta
        else:
            setting.offset_seconds = (setting.offset_seconds or 0.0) + delta.total_seconds()
        session.add(setting)
        session.flush()
        return self.now(session)

    def reset(self, session: Session) -> None:
        self._require_adjustable()
        setting = session.get(ClockSetting, 1)
        if setting is not None:
            session.delete(setting)
            session.flush()

    def _require_adjustable(self) -> None:
        if not self.adjustable:
            raise Forbidden("时钟只能在测试或演示模式下调整")
