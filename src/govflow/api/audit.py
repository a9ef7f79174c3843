"""Auditors: the check of the event chain."""
from __future__ import annotations

from flask import jsonify

from .. import audit
from . import bp, gf, int_arg, require


@bp.get("/audit/verify")
def verify_chain():
    require("auditor", "admin")
    instance_id = int_arg("instance_id", 0, 0, 2**31) or None
    with gf().store.read() as session:
        result = audit.verify(session, instance_id)
    return jsonify(result.to_dict())
