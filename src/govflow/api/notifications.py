"""消息: a person's notifications, the unread count, marking read."""
from __future__ import annotations

from flask import jsonify

from ..work import notifications
from . import actor, bool_arg, bp, gf, int_arg


@bp.get("/notifications")
def list_notifications():
    system = gf()
    with system.store.read() as session:
        return jsonify(notifications.listing(session, actor().id, bool_arg("unread"), int_arg("limit", 50, 1, 200),
                                             int_arg("offset", 0, 0, 100000)))


@bp.post("/notifications/<notification_id>/read")
def read_notification(notification_id: str):
    system = gf()
    with system.store.write() as session:
        marked = notifications.mark_read(session, actor().id, system.now(session), notification_id[:36])
    return jsonify({"marked": marked})


@bp.post("/notifications/read-all")
def read_all_notifications():
    system = gf()
    with system.store.write() as session:
        return jsonify({"marked": notifications.mark_read(session, actor().id, system.now(session))})
