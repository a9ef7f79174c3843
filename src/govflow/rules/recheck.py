"""复核 after 签发: a 正文 changed after the signer signed goes back to the signer before 印发.

D12 — 党政机关公文处理工作条例 第二十五条: 复核 …… 需作实质性修改的，应当报原签批人复审. govflow cannot
tell a substantive change from a typo, so every new 正文 version uploaded after the signature goes
back; the signer sees the versions' differences on the task page and signs again (复审).
"""
from __future__ import annotations

from ..engine.operators import OperatorContext, operator
from ..records import files
from . import Violation

ARTICLE = "党政机关公文处理工作条例 第二十五条"
SIGNING_STEPS = ("signing", "resign")


def text_changed(signed_version: int | None, later: list[int]) -> list[Violation]:
    """A finding for each 正文 version uploaded after the last signature."""
    if not later:
        return []
    since = f"签发时为第 {signed_version} 版" if signed_version else "签发时尚无正文文件"
    versions = "、".join(f"第 {v} 版" for v in later)
    return [Violation("D12", ARTICLE, f"正文在签发后有修改（{since}，其后上传{versions}），"
                                      "应当报原签批人复审后再印发")]


@operator("document.recheck", "正文复核：签发后正文有修改的，报原签批人复审（D12）", rule="D12")
def recheck_operator(ctx: OperatorContext) -> dict:
    signed, later = files.texts_since(ctx.runtime.session, ctx.instance_id, SIGNING_STEPS)
    found = text_changed(signed, later)
    return {"changed": bool(found), "signed_version": signed, "later_versions": later,
            "findings": [{"rule": v.rule, "article": v.article, "message": v.message} for v in found]}
