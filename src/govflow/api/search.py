"""检索: the matters one may see, by words of their titles, numbers, forms and opinions."""
from __future__ import annotations

from flask import jsonify, request

from ..work import search
from . import actor, bp, gf, int_arg


@bp.get("/search")
def search_matters():
    query = search.Query.parse(request.args, int_arg("limit", 20, 1, 100), int_arg("offset", 0, 0, search.COUNT_CAP))
    system = gf()
    with system.store.read() as session:
        return jsonify(search.search(system, session, actor(), query))
