"""Time in govflow is Asia/Shanghai (+08:00) for people and UTC for storage."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def isoformat(moment: datetime) -> str:
    """+08:00 text with seconds, as events, APIs and timers write it."""
    return moment.astimezone(SHANGHAI).isoformat(timespec="seconds")


def parse_moment(text: str) -> datetime:
    """An ISO-8601 moment; without an offset it is Shanghai time. Raises ValueError."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=SHANGHAI)
    return moment


def utc(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc)


def chinese_date(moment: datetime) -> str:
    local = moment.astimezone(SHANGHAI)
    return f"{local.year}年{local.month}月{local.day}日"


def chinese_moment(moment: datetime) -> str:
    local = moment.astimezone(SHANGHAI)
    return f"{chinese_date(local)} {local:%H:%M}"
