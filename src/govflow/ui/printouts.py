"""The printed papers of a matter, as PDF downloads: the 办文单, the 发文稿纸 and the issued 公文
(``work.printouts``), linked from the task and instance pages."""
from __future__ import annotations

from urllib.parse import quote

from flask import Response, g, url_for

from ..audit import readings
from ..work import printouts
from . import bp, gf, login_required


@bp.get("/instances/<int:instance_id>/print/<kind>.pdf")
@login_required
def printout(instance_id: int, kind: str):
    system = gf()
    with system.store.read() as db:
        printed = printouts.printout(system, db, g.actor, instance_id, kind)
    readings.record_view(system, g.actor, f"print_{printed.kind}", instance_id)
    return Response(printed.pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f"attachment; filename=\"{instance_id}-{printed.kind}.pdf\"; "
                               f"filename*=UTF-8''{quote(printed.filename)}",
        "Cache-Control": "private, no-store"})


@bp.app_template_global("printouts")
def printout_links(instance) -> list[tuple[str, str]]:
    """(label, url) of what may be printed of ``instance``, for the links of its pages (whose views have
    checked that the user may see it)."""
    with gf().store.read() as db:
        kinds = printouts.kinds_for(db, instance)
    return [(printouts.KINDS[kind], url_for("ui.printout", instance_id=instance.id, kind=kind)) for kind in kinds]
