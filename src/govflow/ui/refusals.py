"""The auditor's page of refused writes (越权操作记录)."""
from __future__ import annotations

from flask import g, render_template, request

from ..audit import readings, refusals
from . import bp, gf, login_required, page_number, require_role

PER_PAGE = 100

# what a refused write was trying to do, in the words of the pages (the endpoint's name is no one's word)
WRITES = {
    "start_process": "发起事项", "start_instance": "发起事项", "submit_task": "办理提交", "complete_task": "办理提交",
    "upload": "上传正文或附件", "upload_file": "上传正文或附件", "claim_task": "签收", "unclaim_task": "退回签收",
    "send_back_task": "退回", "transfer_task": "转办", "delegate_task": "委派", "resolve_task": "委派办结",
    "add_signer": "加签", "press_task": "催办", "circulate": "传阅", "mark_read": "阅知", "withdraw_task": "撤回",
    "comment_task": "填写意见", "deploy_process": "部署流程", "designer_deploy": "部署流程",
    "designer_upload": "上传流程图", "designer_validate": "校验流程图", "designer_form_preview": "预览表单",
    "arrange_meeting": "安排会议", "message_settings": "修改消息接收设置",
    "admin_revoke_sessions": "退出某人的所有登录",
    "revoke_person_tokens": "退出某人的所有登录", "reset_password": "重置密码", "change_password": "修改密码",
    "set_clock": "调整系统时钟", "advance_clock": "调整系统时钟", "set_day": "设置工作日", "set_year": "设置年度日历",
    "add_leave": "登记请假", "remove_leave": "取消请假", "record_emergency": "登记紧急事项",
}
TASK_ACTIONS = {"claim": "签收", "unclaim": "退回签收", "return": "退回", "transfer": "转办", "delegate": "委派",
                "addsign": "加签", "press": "催办", "read": "阅知", "circulate": "传阅"}


@bp.app_template_filter("refused_write")
def refused_write(row) -> str:
    """The refused request as the auditor's page names it: 页面/接口 and the action in Chinese."""
    where, _, name = (row.endpoint or "").rpartition(".")
    if name == "task_action":
        label = TASK_ACTIONS.get((row.target or "").rstrip("/").rsplit("/", 1)[-1], "办理任务")
    else:
        label = WRITES.get(name, "其他修改操作")
    return f"{'接口' if where == 'api' else '页面'}：{label}"


@bp.get("/audit/refusals")
@login_required
def audit_refusals():
    require_role("auditor", "admin")
    page, person = page_number(request.args.get("page")), (request.args.get("actor") or "")[:40] or None
    system = gf()
    readings.record_view(system, g.actor, "refused_writes")
    with system.store.read() as db:
        rows = refusals.listing(db, actor=person, limit=PER_PAGE + 1, offset=(page - 1) * PER_PAGE)
    return render_template("refusals.html", rows=rows[:PER_PAGE], more=len(rows) > PER_PAGE, page=page,
                           actor=person or "", kinds_per_day=refusals.KINDS_PER_DAY)
