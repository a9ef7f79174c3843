"""消息: the signed-in person's notifications (unread first in the header's count), where their messages
go outside govflow (email, 企业微信/钉钉 群机器人, quiet hours), and for administrators the departments'
robots and the latest deliveries with their errors."""
from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for

from ..errors import GovflowError, NotFound
from ..work import delivery, notifications
from . import bp, gf, login_required, page_number

TABS = {"all": "全部消息", "unread": "未读"}


@bp.get("/messages")
@login_required
def messages():
    view = request.args.get("view", "all")
    if view not in TABS:
        abort(400, "筛选条件有误")
    page = page_number(request.args.get("page"))
    with gf().store.read() as db:
        shown = notifications.listing(db, g.actor.id, view == "unread", notifications.PAGE,
                                      (page - 1) * notifications.PAGE)
    return render_template("messages.html", shown=shown, view=view, tabs=TABS, page=page)


@bp.post("/messages/<notification_id>/read")
@login_required
def message_read(notification_id: str):
    system = gf()
    with system.store.write() as db:
        link = _own(db, notification_id[:36]).link
        notifications.mark_read(db, g.actor.id, system.now(db), notification_id[:36])
    return redirect(link if link.startswith("/") and not link.startswith("//") else url_for("ui.messages"))


@bp.post("/messages/read-all")
@login_required
def messages_read_all():
    system = gf()
    with system.store.write() as db:
        flash(f"已将 {notifications.mark_read(db, g.actor.id, system.now(db))} 条消息标记为已读")
    return redirect(url_for("ui.messages"))


def _own(db, notification_id: str):
    row = db.get(notifications.Notification, notification_id)
    if row is None or row.person_id != g.actor.id:
        raise NotFound("消息不存在")
    return row


@bp.route("/messages/settings", methods=["GET", "POST"])
@login_required
def message_settings():
    system, message, status = gf(), "", 200
    if request.method == "POST":
        form = request.form
        try:
            with system.store.write() as db:
                if form.get("scope") == "department":
                    if not g.actor.has("admin"):
                        abort(403)
                    department = form.get("department", "")
                    if department not in g.org.departments:
                        raise NotFound("部门不存在")
                    delivery.set_channel(db, "department", department, form.get("channel", ""),
                                         form.get("target", ""), system.settings.mode)
                else:
                    for channel in delivery.CHANNELS:
                        delivery.set_channel(db, "person", g.actor.id, channel, form.get(channel, ""),
                                             system.settings.mode)
                    delivery.set_preference(db, g.actor.id, form.getlist("channels"), form.get("quiet_from", ""),
                                            form.get("quiet_to", ""))
        except GovflowError as refused:
            message, status = refused.message, refused.status
        else:
            flash("已保存")
            return redirect(url_for("ui.message_settings"))
    with system.store.read() as db:
        own = delivery.channels_of(db, "person", g.actor.id)
        prefs = delivery.preference(db, g.actor.id)
        shared = {d: delivery.channels_of(db, "department", d) for d in g.org.departments} \
            if g.actor.has("admin") else {}
        recent = delivery.deliveries(db, 50) if g.actor.has("admin") else []
    return render_template("message_settings.html", own=own, prefs=prefs, chosen=set(prefs.channels.split(",")),
                           channels=delivery.CHANNELS, shared=shared, recent=recent, message=message,
                           departments=g.org.departments, form=request.form), status
