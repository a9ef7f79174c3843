"""检索: the search page behind the header's box — the matters one may see, with the words found."""
from __future__ import annotations

from flask import g, render_template, request

from ..errors import ValidationFailed
from ..work import inbox, search
from . import bp, gf, login_required, page_number
from .inbox import _process_names

PAGE = 20


@bp.get("/search")
@login_required
def search_page():
    args, system = request.args, gf()
    page, result, message = page_number(args.get("page")), None, ""
    with system.store.read() as db:
        processes = _process_names(db)
        if args.get("q", "").strip():
            try:
                query = search.Query.parse(args, PAGE, (page - 1) * PAGE)
                result = search.search(system, db, g.actor, query)
            except ValidationFailed as refused:     # the page says why, beside the box that caused it
                message = refused.message
    total = result["total"] if result else 0
    return render_template("search.html", result=result, message=message, args=args, processes=processes,
                           departments=g.org.departments, statuses=search.STATUSES, urgencies=inbox.URGENCY,
                           page=page, pages=max(1, -(-total // PAGE))), 422 if message else 200
