"""公文审批与签发: the checks of rules D1-D11 (RULES.md), pure functions over the document and the
jurisdiction's profile, and the service-task operators of processes/document_approval.bpmn.

Each check cites the article its profile records; a parameter the rules of a jurisdiction do not
set is not checked there. Where a check reads the text (D2, D9, D10) it is a heuristic and its
message says how it measured.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from ..engine.operators import OperatorContext, operator
from ..errors import ValidationFailed
from ..people.org import Organisation
from ..profiles import Profile
from ..records.documents import CATEGORIES, Document
from ..time.timeutil import chinese_date, isoformat
from ..time.workdays import WorkdayCalendar
from . import Violation, block_if
from .consultation import consultation_window


# -- D1 one channel ----------------------------------------------------------------------------------------
def single_channel(doc: Document, profile: Profile) -> list[Violation]:
    rule = profile.param("single_channel_exceptions")
    if not doc.addressed_to_leader or not rule.is_set or doc.direct_reason in rule.value:
        return []
    reason = f"“{doc.direct_reason}”" if doc.direct_reason else "未说明理由"
    office = profile.titles.get("office", "办公室")
    return [Violation("D1", rule.article, f"公文须经{office}统一报送，不得直接报送领导个人；"
                                          f"{reason}不属于可直接报送的情形（{'、'.join(rule.value)}）")]


# -- D2 document rules ---------------------------------------------------------------------------------------
_REQUEST = re.compile(r"请求|恳请|请予|请批准|请审批|请批复|请审定|申请")
_CLOSING = re.compile(r"^(妥否|当否|特此请示|以上请示|专此请示)|^关于.*的(请示|报告)$")   # closing words, a title line
_REQUEST_WORDS = re.compile(r"妥否|请批示|请审批|请批复|请予批准|请予审批|请审定|请予支持|请予同意|恳请|请求批准"
                            r"|特此请示")


def request_matters(body: str) -> int:
    """How many request sentences a text has, not counting the closing formula (妥否，请批示) or a
    title line (关于…的请示)."""
    sentences = [s.strip() for s in re.split(r"[。；！？\n]", body) if s.strip()]
    return sum(1 for s in sentences if _REQUEST.search(s) and not _CLOSING.match(s))


def document_rules(doc: Document, profile: Profile) -> list[Violation]:
    found = []
    one = profile.param("request_one_matter")
    matters = request_matters(doc.body) if doc.doc_type == "请示" and one.is_set else 0
    if matters > 1:
        found.append(Violation("D2", one.article,
                               f"请示应一文一事：正文中识别出 {matters} 处请示事项（按“请求、恳请、请予、请批准、申请”"
                               "等请示语句计数，不含标题与“妥否，请批示”等结束语）", certain=False))
    report = profile.param("report_no_request")
    match = _REQUEST_WORDS.search(doc.body)
    if doc.doc_type == "报告" and report.is_set and match:
        found.append(Violation("D2", report.article,
                               f"报告中不得夹带请示事项：正文含请示用语“{match.group()}”（按请示用语识别）",
                               certain=False))
    own = profile.param("department_matters_not_to_government")
    if doc.within_department_authority and own.is_set:
        found.append(Violation("D2", own.article, "属本部门职权范围内的事项，应由本部门自行办理，不报政府"))
    return found


# -- D4 the sending unit's own sign-off ---------------------------------------------------------------------
def internal_signoff(doc: Document, profile: Profile, org: Organisation) -> list[Violation]:
    rule = profile.param("internal_signoff")
    if not rule.is_set:
        return []
    signer = org.person(doc.signoff.get("signer", ""))
    found = []
    if signer is None or signer.department != doc.department or not any(org.holds(signer, post)
                                                                         for post in rule.value["posts"]):
        who = "主要负责人" if rule.value["posts"] == ["dept_head"] else "主要负责人或经授权的分管负责人"
        found.append(Violation("D4", rule.article, f"报送政府的公文须由本单位{who}签发"))
    needs_meeting = rule.value["meeting"] == "always" or (rule.value["meeting"] == "major" and doc.major)
    if needs_meeting and not doc.signoff.get("meeting"):
        found.append(Violation("D4", rule.article, "须注明本单位集体讨论的会议（会议纪要）"))
    return found


# -- D8 lead time and urgency --------------------------------------------------------------------------------
def lead_time(doc: Document, profile: Profile, calendar: WorkdayCalendar, today: date) -> list[Violation]:
    found = []
    lead = profile.param("submitter_lead_time_wd")
    kind = {"一般": "一般", "加急": "紧急"}.get(doc.urgency)      # 特别紧急: a written reason instead
    if lead.is_set and doc.needed_by and kind:
        needed = lead.value[kind]
        left = calendar.workdays_between(today, doc.needed_by)
        if left < needed:
            found.append(Violation("D8", lead.article, f"{doc.urgency}公文须至少提前 {needed} 个工作日报送，"
                                                        f"距要求办结日期仅 {left} 个工作日"))
    reason = profile.param("very_urgent_needs_reason")
    if reason.is_set and doc.urgency in ("特急", "特急重要") and not doc.urgency_reason.strip():
        found.append(Violation("D8", reason.article, f"{doc.urgency}公文须书面说明紧急理由"))
    return found


# -- D9 fewer documents ------------------------------------------------------------------------------------
SHINGLE = 8
_NOISE = re.compile(r"[\s\W_]+")


def overlap(body: str, source: str, size: int = SHINGLE) -> float:
    """The share of the body's characters that lie in a run of ``size`` characters also found in
    ``source`` (whitespace and punctuation ignored)."""
    text, other = _NOISE.sub("", body), _NOISE.sub("", source)
    if len(text) < size or len(other) < size:
        return 0.0
    known = {other[i:i + size] for i in range(len(other) - size + 1)}
    covered = bytearray(len(text))
    for i in range(len(text) - size + 1):
        if text[i:i + size] in known:
            covered[i:i + size] = b"\x01" * size
    return sum(covered) / len(text)


def fewer_documents(doc: Document, profile: Profile) -> list[Violation]:
    found = []
    limit = profile.param("repeat_limit")
    if limit.is_set and doc.body and doc.higher_document:
        share = overlap(doc.body, doc.higher_document)
        if share > float(limit.value):
            found.append(Violation("D9", limit.article,
                                   f"正文约 {share:.0%} 与上位文件相同，超过 {float(limit.value):.0%}，不予发文"
                                   f"（计算方法：正文中与上位文件有连续 {SHINGLE} 字相同的字数占正文字数的比例，"
                                   "不计空白和标点）", certain=False))
    republish = profile.param("no_republish")
    if republish.is_set and doc.republishes:
        found.append(Violation("D9", republish.article,
                               f"本文翻印、转发已公开发布的上级文件，不予发文：“{republish.quote}”"))
    plan = profile.param("annual_plan_required")
    if plan.is_set and not doc.in_annual_plan and not doc.plan_approval.strip():
        found.append(Violation("D9", plan.article, "未列入年度发文计划的公文须经一事一批"))
    return found


# -- D10 行政规范性文件 ---------------------------------------------------------------------------------------
POWER_WORDS = {
    "行政许可": ("许可证", "须经批准", "审批后方可", "准予许可"),
    "行政处罚": ("罚款", "没收", "吊销", "责令停产停业", "行政拘留", "予以处罚"),
    "行政强制": ("查封", "扣押", "冻结", "强制执行", "强制拆除"),
}


def normative_document(doc: Document, profile: Profile) -> list[Violation]:
    if doc.category != "normative_document":
        return []
    found = []
    review = profile.param("normative_legality_review")
    if review.is_set and "合法性审查意见" not in doc.attachments:
        found.append(Violation("D10", review.article, "行政规范性文件须经司法局合法性审查：未附合法性审查意见"))
    powers = profile.param("normative_no_new_powers")
    words = [f"{kind}（{word}）" for kind, terms in POWER_WORDS.items() for word in terms if word in doc.body]
    if powers.is_set and words:
        found.append(Violation("D10", powers.article, f"行政规范性文件不得设定行政许可、行政处罚、行政强制：正文出现"
                                                      f"{'、'.join(words)}（按词语识别，请核实）", certain=False))
    required = profile.param("normative_validity_required")
    if required.is_set and not doc.validity_years:
        found.append(Violation("D10", required.article, "行政规范性文件须载明有效期"))
    years = profile.param("normative_validity_years")
    if years.is_set and doc.validity_years:
        limit = years.value["provisional"] if doc.provisional else years.value["normal"]
        if doc.validity_years > limit:
            kind = "暂行、试行的" if doc.provisional else ""
            found.append(Violation("D10", years.article, f"{kind}行政规范性文件有效期不得超过 {limit} 年"))
    return found


# -- D11 instructions to lower governments --------------------------------------------------------------------
def lower_government(doc: Document, profile: Profile) -> list[Violation]:
    wording = profile.param("lower_government_wording")
    if doc.category != "instruction_to_lower" or not wording.is_set or wording.value in doc.body:
        return []
    return [Violation("D11", wording.article, f"部门向下级政府行文须经政府同意，正文须写明“{wording.value}”")]


def review(doc: Document, profile: Profile, org: Organisation, calendar: WorkdayCalendar,
           today: date) -> list[Violation]:
    """D5: everything the office review finds, all at once — a 退文 lists every reason."""
    return [*single_channel(doc, profile), *document_rules(doc, profile), *internal_signoff(doc, profile, org),
            *lead_time(doc, profile, calendar, today), *fewer_documents(doc, profile),
            *normative_document(doc, profile), *lower_government(doc, profile)]


# -- D5 forwarding to the department concerned ------------------------------------------------------------
def forwarding(doc: Document, forward_to: str, profile: Profile, org: Organisation) -> list[Violation]:
    """资阳 四十七: a matter within a department's scope that it can answer is forwarded to it
    (转有关部门办理) on the 秘书长's or 副秘书长's instruction — a third outcome of the office review,
    only where the rules provide it."""
    rule, review = profile.param("office_forwards_to_department"), profile.param("office_review")
    office = profile.titles.get("office", "办公室")
    if not rule.is_set:
        return [Violation("D5", review.article if review.is_set else "",
                          f"本级规则未规定{office}可将公文直接转交有关部门办理：请提出拟办意见或退文")]
    department = org.departments.get(forward_to)
    if department is None or forward_to in (org.office_id, doc.department):
        return [Violation("D5", rule.article, "转交办理须指明职责范围内能明确答复的有关部门（不能是报送单位或办公室）")]
    return []


# -- D6 who signs ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Routing:
    reviewers: tuple[str, ...]      # 分管领导 who review or countersign before the signature
    signer: str
    rule: str                       # why this signer, in words
    article: str


def routing(doc: Document, profile: Profile, org: Organisation) -> Routing:
    leaders = list(dict.fromkeys(p.id for d in (doc.department, *doc.departments)
                                 if (p := org.portfolio_leader(d)) is not None))
    lead = org.portfolio_leader(doc.department)
    head = org.head().id
    if doc.category == "office_routine":
        return _office_routine(profile, org)
    signs = profile.param("head_signs")
    if signs.is_set and doc.category in signs.value:
        return Routing(_without(leaders, head), head, f"{CATEGORIES[doc.category]}由{profile.titles['head']}签发",
                       signs.article)
    major = profile.param("major_to_head")
    if doc.major and major.is_set:
        return Routing(_without(leaders, head), head, f"重大事项由{profile.titles['head']}签发", major.article)
    office = profile.param("office_government_business_signer")
    if doc.issuer == "政府办公室" and office.is_set:
        if office.value == "portfolio_leader" and lead:
            return Routing((), lead.id, "以办公室名义发出的政府事务文件，由分管领导签发", office.article)
        if office.value != "portfolio_leader" and (holders := org.with_post(office.value)):
            # 重庆 51(三): 以市政府办公厅名义发文，由市政府秘书长签发
            title = profile.titles.get(office.value, "秘书长")
            return Routing((), holders[0].id, f"以{profile.titles.get('office', '办公室')}名义发文，由{title}签发"
                                              f"（“{office.quote}”）", office.article)
    meeting = profile.param("meeting_passed_executive_signs")
    if meeting.is_set and doc.passed_by_meeting and not doc.major_revision:
        deputy = org.executive_deputy().id
        return Routing(_without(leaders, deputy), deputy,
                       f"经常务会议审议通过且无重大修改，可由{profile.titles['executive_deputy']}签发", meeting.article)
    if len(leaders) > 1:
        return _several_portfolios(profile, leaders, lead.id if lead else leaders[0], head)
    if lead is None:
        return Routing((), head, f"承办单位无分管领导，由{profile.titles['head']}签发", signs.article)
    return Routing((), lead.id, "涉及一位领导分管范围的，由分管领导签发", signs.article)


def _without(people: list[str], person: str) -> tuple[str, ...]:
    return tuple(p for p in people if p != person)


def _several_portfolios(profile: Profile, leaders: list[str], lead: str, head: str) -> Routing:
    rule = profile.param("several_portfolios")
    titles = profile.titles
    if rule.value == "joint_review_then_portfolio":
        return Routing(_without(leaders, lead), lead,
                       "涉及多位领导分管范围的，相关领导共同审核后由主办单位分管领导签发", rule.article)
    if rule.is_set:
        return Routing(_without(leaders, head), head, f"涉及多位领导分管范围的，相关领导会签后由{titles['head']}签发",
                       rule.article)
    # The rules do not say: the lead portfolio's leader signs after the others have seen it (本地做法).
    return Routing(_without(leaders, lead), lead,
                   "规则未规定多位领导分管事项的签发人：相关领导会签后由主办单位分管领导签发（本地设置）", "")


def _office_routine(profile: Profile, org: Organisation) -> Routing:
    rule = profile.param("office_routine_signer")
    post = rule.value if rule.is_set else org.local.get("office_routine_signer", "office_director")
    # a list names the posts in the order the article does: the first the organisation has signs
    # (重庆 51(三): 分管副秘书长或厅副主任)
    posts = [post] if isinstance(post, str) else list(post)
    post = next((p for p in posts if org.with_post(p)), posts[-1])
    signer = org.with_post(post)[0].id
    title = profile.titles.get(post, "办公室主任")
    if rule.is_set:
        quoted = f"（“{rule.quote}”）" if len(posts) > 1 else ""
        return Routing((), signer, f"办公室日常事务文件由{title}签发{quoted}", rule.article)
    return Routing((), signer, f"规则未规定办公室日常事务文件的签发人：由{title}签发（本地设置）", "")


# -- D8 time limits ---------------------------------------------------------------------------------------
def time_limit(doc: Document, profile: Profile) -> int | None:
    """The document's time limit in 工作日 by urgency, where the rules give one."""
    limits = profile.param("document_time_limit_wd")
    if not limits.is_set:
        return None
    return int(limits.value.get(doc.urgency) or limits.value["特急"])


def sign_workdays(doc: Document, profile: Profile) -> int | None:
    """The leader's own limit for signing, where the rules set one (东昌: 特急重要 within 1 工作日)."""
    limit = profile.param("top_urgent_leader_sign_wd")
    return int(limit.value) if limit.is_set and doc.urgency == "特急重要" else None


# -- D7 the signature ------------------------------------------------------------------------------------------
def signature(doc: Document, decision: str, opinion: str, profile: Profile) -> tuple[str, list[Violation]]:
    """What the signer's act means: 同意, 阅知 or 不同意. A circle (圈阅) means consent on a 请示 or an
    outgoing document and "read" on a 报告 — only where the rules say so; elsewhere an opinion is
    written out."""
    if decision == "不同意":
        return "不同意", []
    if decision == "圈阅":
        circle = profile.param("circle_means_consent")
        if not circle.is_set:
            clear = profile.param("clear_opinion_each_step")
            return "", [Violation("D7", clear.article if clear.is_set else "",
                                  "本级规则未规定圈阅的含义：请写明签发意见")]
        reads = circle.value == "consent_read_on_reports" and doc.doc_type == "报告"
        return ("阅知" if reads else "同意"), []
    clear = profile.param("clear_opinion_each_step")
    if clear.is_set and not opinion.strip():
        return "", [Violation("D7", clear.article, "各环节须明确提出意见：请写明签发意见")]
    return "同意", []


# -- D3 disagreement ---------------------------------------------------------------------------------------
def disagreement(coordination: dict, departments: list[str], profile: Profile, org: Organisation) -> list[Violation]:
    """When departments disagree: each side's reasons, a proposed solution, and the countersign of
    the heads of the departments concerned (``departments``: the lead unit and those objecting)."""
    rule = profile.param("countersign_departments")
    if not rule.is_set:
        return []
    found = []
    if not coordination.get("positions"):
        found.append(Violation("D3", rule.article, "有关部门意见不一致的，须列明各方理由"))
    if not (coordination.get("solution") or "").strip():
        found.append(Violation("D3", rule.article, "有关部门意见不一致的，须提出办理意见"))
    signed = {org.person(p).department for p in coordination.get("countersigned_by", [])
              if org.person(p) and org.person(p).post == "dept_head"}
    missing = [org.departments[d].name for d in departments if d not in signed]
    if missing:
        found.append(Violation("D3", rule.article, f"须由有关部门负责人会签：缺{'、'.join(missing)}主要负责人"))
    return found


# -- operators ---------------------------------------------------------------------------------------------
def _doc(ctx: OperatorContext) -> Document:
    return Document.from_data(ctx.data)


def known(doc: Document, org: Organisation) -> None:
    problems = [{"field": "department", "reason": f"组织机构中没有部门“{d}”"}
                for d in (doc.department, *doc.departments) if d not in org.departments]
    problems += [{"field": field, "reason": f"组织机构中没有人员“{person}”"}
                 for field, person in (("signoff.signer", doc.signoff.get("signer")),
                                       ("addressed_to_leader", doc.addressed_to_leader))
                 if person and org.person(person) is None]
    if problems:
        raise ValidationFailed("公文中的部门或人员不存在：" + "；".join(p["reason"] for p in problems), problems)


@operator("document.review", "公文合规审查：一次列出全部退文理由（D1 D2 D4 D8 D9 D10 D11）", rule="D5")
def review_operator(ctx: OperatorContext) -> dict:
    """Every finding at once; ``blocking`` when one is certain (the office may pass a text
    heuristic it has checked, never a missing review or signature)."""
    doc = _doc(ctx)
    known(doc, ctx.runtime.org)
    if doc.department != ctx.data["intake"]["department"]:
        raise ValidationFailed("修改时不能更换发文单位", [{"field": "department", "reason": doc.department}])
    found = review(doc, ctx.runtime.profile, ctx.runtime.org, ctx.runtime.calendar, ctx.now.date())
    return {"passed": not found, "blocking": any(v.certain for v in found), "findings": [v.to_dict() for v in found]}


@operator("document.intake", "收文核验：发文单位、涉及部门与人员须在组织机构中；办理时限按紧急程度以工作日计（D8）",
          rule="D8")
def intake_operator(ctx: OperatorContext) -> dict:
    """Refuses a document that names departments or people the organisation does not have (the
    start is rolled back: nothing is stored). The diagram's due dates read the result:
    ``workdays(intake["days"], intake["from"])``."""
    doc, profile = _doc(ctx), ctx.runtime.profile
    known(doc, ctx.runtime.org)
    rule = profile.param("document_time_limit_wd")
    return {"days": time_limit(doc, profile), "from": isoformat(ctx.now), "sign_days": sign_workdays(doc, profile),
            "article": rule.article if rule.is_set else "", "department": doc.department}


@operator("document.forward", "转有关部门办理：属部门职责范围内且能明确答复的事项（D5，资阳 四十七）", rule="D5")
def forward_operator(ctx: OperatorContext, decision: dict) -> dict:
    """``decision``: the office review's form (its ``forward_to``: the department)."""
    doc, runtime = _doc(ctx), ctx.runtime
    forward_to = decision.get("forward_to") or ""
    block_if(forwarding(doc, forward_to, runtime.profile, runtime.org))
    rule = runtime.profile.param("office_forwards_to_department")
    return {"forward_to": forward_to, "department_name": runtime.org.departments[forward_to].name,
            "article": rule.article}


@operator("document.routing", "拟办分送：征求意见的部门、审核会签的领导与签发人（D3 D6）", rule="D6")
def routing_operator(ctx: OperatorContext) -> dict:
    doc, runtime = _doc(ctx), ctx.runtime
    route = routing(doc, runtime.profile, runtime.org)
    window = runtime.profile.param("consultation_window_wd")
    parallel = runtime.profile.param("urgent_parallel_leaders")
    at_once = bool(parallel.is_set and doc.urgent and route.reviewers)
    # 东昌 28: an urgent document goes to the leaders and the signer at once, their opinions merged
    reviewers = [*route.reviewers, route.signer] if at_once else list(route.reviewers)
    return {"consult": list(doc.departments),
            "consult_days": consultation_window(runtime.profile),
            "consult_article": window.article if window.is_set else "", "reviewers": reviewers,
            "signer": route.signer, "sign_rule": route.rule, "sign_article": route.article, "parallel": at_once,
            "parallel_article": parallel.article if parallel.is_set else ""}


@operator("document.disagreement", "意见不一致的处理：列明理由、提出办理意见、负责人会签（D3）", rule="D3")
def disagreement_operator(ctx: OperatorContext, coordination: dict, objections: list) -> dict:
    doc = _doc(ctx)
    concerned = list(dict.fromkeys([doc.department, *(o.get("department") for o in objections)]))
    block_if(disagreement(coordination, [d for d in concerned if d], ctx.runtime.profile, ctx.runtime.org))
    return {"resolved": True}


@operator("document.signature", "签发记录：意见、姓名、完整日期；圈阅的含义（D7）", rule="D7")
def signature_operator(ctx: OperatorContext, sign: dict, reviews: list | None = None) -> dict:
    doc, runtime = _doc(ctx), ctx.runtime
    meaning, found = signature(doc, sign.get("decision", ""), sign.get("opinion", ""), runtime.profile)
    block_if(found)
    signer = ctx.data.get("signer")
    # every leader's opinion carries its author; asked at once, the signer's is among the reviews
    opinions = list(reviews or [])
    if all(o.get("by") != signer for o in opinions):
        opinions.append({"by": signer, **sign})
    return {"meaning": meaning, "signer": signer, "name": runtime.org.display_name(signer),
            "date": chinese_date(ctx.now), "signed_on": ctx.now.date().isoformat(),
            "opinion": sign.get("opinion") or ("圈阅" if sign.get("decision") == "圈阅" else ""),
            "opinions": opinions}


@operator("document.register", "登记编号：按机关代字与年份顺序编发文字号，成文日期为签发日期")
def register_operator(ctx: OperatorContext, signature: dict) -> dict:
    doc, runtime = _doc(ctx), ctx.runtime
    prefix = runtime.org.document_prefix(doc.issuer, doc.doc_type)
    signed_on = date.fromisoformat(signature["signed_on"])
    number = runtime.numbering.register(prefix, ctx.instance_id, doc.title, doc.doc_type, signature["signer"],
                                        signed_on, ctx.now)
    return {"number": number, "signed_on": signed_on.isoformat(), "date": chinese_date(ctx.now)}
