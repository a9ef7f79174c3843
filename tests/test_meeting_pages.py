"""The 常务会议's steps on the task page, hostile or early: a sign-in sheet forged with someone who
is not a 组成人员, one sent before the meeting's day, a 纪要 whose 所属议题 is not on the agenda —
each refused in words on the page, nothing stored."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from govflow.store.models import Attendance
from helpers import complete, task
from procedures import People as MeetingPeople
from procedures import convened, lead_and_other, scheduled_topic, set_clock, to_sign_in
from test_instance_pages import logged_in


def _post(client, path: str, fields: dict):
    page = client.get(path).get_data(as_text=True)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page).group(1)
    response = client.post(path, data={"csrf": csrf, "idempotency_key": key, **fields})
    return response.status_code, response.get_data(as_text=True)


def _sheet(site) -> int:
    with site.store.read() as db:
        return db.scalar(select(func.count()).select_from(Attendance))


def test_a_sign_in_sheet_before_the_day_or_with_an_outsider_is_refused_in_words(site):
    people = MeetingPeople("bazhou")
    org = people.org
    _, meeting_instance = convened(site, "2026-11-26T09:00:00+08:00")
    clerk = logged_in(site, people.clerk)
    complete(site, people.clerk, task(site, meeting_instance, "draft_agenda").id, {"confirmed": True})
    complete(site, org.head().id, task(site, meeting_instance, "approve_agenda").id, {"decision": "同意"})
    sign_in = f"/tasks/{task(site, meeting_instance, 'sign_in').id}"
    page = clerk.get(sign_in).get_data(as_text=True)
    offered = set(re.findall(r'name="f.present" value="([^"]+)"', page))
    assert offered == set(org.meeting_members)                                      # the 组成人员, not everyone

    *here, away = org.meeting_members
    leave = {"f.absent.0.person": away, "f.absent.0.reason": "赴省参加会议"}
    status, shown = _post(clerk, sign_in, {"f.present": here, **leave})
    assert status == 422 and "会议当天方可签到" in shown and "（今天是2026年11月23日）" in shown
    set_clock(site, task(site, meeting_instance, "sign_in").due_at)
    clerk = logged_in(site, people.clerk)
    outsider = next(p for p in org.people if p not in org.meeting_members)
    status, shown = _post(clerk, sign_in, {"f.present": [*here, outsider], **leave})
    assert status == 422 and f"{org.display_name(outsider)}不是常务会议组成人员" in shown
    assert _sheet(site) == 0


def test_minutes_naming_a_topic_not_on_the_agenda_are_refused_beside_the_field(site):
    people = MeetingPeople("bazhou")
    org = people.org
    _, meeting_instance = convened(site, "2026-11-26T09:00:00+08:00")
    topic = scheduled_topic(site, org)
    lead, _ = lead_and_other(org)
    to_sign_in(site, org, meeting_instance)
    complete(site, people.clerk, task(site, meeting_instance, "sign_in").id, {"present": people.members, "absent": []})
    complete(site, people.clerk, task(site, topic, "hearing").id,
             {"outcome": "通过", "conclusion": "原则同意", "presenters_present": [people.dept_head(lead)]})
    complete(site, people.clerk, task(site, meeting_instance, "hold").id, {"closed": True})
    clerk = logged_in(site, people.clerk)
    minutes = f"/tasks/{task(site, meeting_instance, 'draft_minutes').id}"
    page = clerk.get(minutes).get_data(as_text=True)
    assert "关于2027年城区学校建设资金安排的议题" in page and "section class=\"meeting-panel\"" in page
    status, shown = _post(clerk, minutes, {"f.decisions.0.agenda_item": "999999", "f.decisions.0.task": "落实资金",
                                           "f.decisions.0.lead_unit": lead, "f.decisions.0.due_on": "2026-12-31"})
    assert status == 422 and "所属议题不在本次会议议程中" in shown
    assert task(site, meeting_instance, "draft_minutes").state == "open"
