"""检索 (issue 23): Chinese without word breaks on both databases, indexed in the step's transaction,
filtered, and blind to what a person may not see — 涉密 matters included, counts and snippets too."""
from __future__ import annotations

import json

import pytest

from conftest import Api
from govflow.app import create_app
from govflow.errors import ValidationFailed
from govflow.store.fulltext import MAX_QUERY, Analyzed, tokens
from govflow.work import instances, search
from helpers import actor, complete, open_tasks
from helpers import start as start_instance
from test_secrecy import SECRET, SEEN, built, document, secret

TITLE = "关于公交站台改造的请示"


@pytest.fixture
def documents(database_url):
    system = built(database_url)
    yield system
    system.store.dispose()


def found(system, person: str, text: str, **filters) -> dict:
    with system.store.read() as session:
        return search.search(system, session, actor(system, person), search.Query(text, **filters))


@pytest.mark.parametrize("text, terms", [
    ("公交站台改造", ["公交", "交站", "站台", "台改", "改造", "造"]),   # bigrams, and the run's last character
    ("站", ["站"]),
    ("巴州府发〔2026〕12号", ["巴州", "州府", "府发", "发", "2026", "12", "号"]),
    ("ＡＢＣ１２ Road", ["abc12", "road"]),                          # NFKC, lower case
])
def test_text_is_indexed_as_overlapping_bigrams(text, terms):
    assert tokens(text) == terms


@pytest.mark.parametrize("query", ['"站台"', "站台 OR NEAR(改造", "站台* ^公交 terms:改造", "站台 & !改造 <-> x:*",
                                   "'; DROP TABLE instance; --", "\\\\'站台'", "(((站台)))"])
def test_operators_and_quotes_are_only_punctuation_or_words(query):
    analyzed = Analyzed.of(query)
    assert all('"' not in t and "'" not in t for p in analyzed.phrases for t in p)


@pytest.mark.parametrize("query, reason", [("站" * (MAX_QUERY + 1), "过长"), ("“”《》***", "须包含汉字")])
def test_a_query_that_cannot_be_searched_is_refused_with_a_reason(query, reason):
    with pytest.raises(ValidationFailed, match=reason):
        Analyzed.of(query)


def test_two_characters_find_the_matter_with_the_word_inside_its_title(documents):
    wanted = start_instance(documents, "shenkai", "document_approval", document(TITLE, urgency="特急"))
    start_instance(documents, "shenkai", "document_approval", document("关于校舍维修的请示"))
    for query in ("站台", "公交站台", "公交站台改造的请示", "造", "站 台"):
        result = found(documents, "shenkai", query)
        assert [i["id"] for i in result["items"]] == [wanted] and result["total"] == 1, query
    hit = found(documents, "shenkai", "站台")["items"][0]
    assert (hit["snippet"]["hit"], hit["title"], hit["department_name"]) == ("站台", TITLE, "巴州区教育局")
    assert found(documents, "shenkai", "台站")["total"] == 0          # the characters, not in that order
    assert found(documents, "shenkai", "教育局")["total"] == 2         # the department's name, not its id
    assert found(documents, "shenkai", "梁晓东")["total"] == 2         # a person named by id in the data


def test_an_opinion_is_found_as_soon_as_its_step_commits_and_never_before(documents):
    instance_id = start_instance(documents, "shenkai", "document_approval", document(TITLE))
    complete(documents, "songyang", open_tasks(documents, instance_id)[0].id, {"received": True})
    review = [t for t in open_tasks(documents, instance_id) if t.step_id == "office_review"][0]
    assert found(documents, "shenkai", "雨污分流")["total"] == 0
    complete(documents, "songyang", review.id, {"decision": "拟办", "opinion": "建议同步实施雨污分流"})
    assert found(documents, "shenkai", "雨污分流")["total"] == 1
    with pytest.raises(RuntimeError):           # a step that fails leaves no trace in the index
        with documents.store.write() as session:
            instances.start(documents, session, actor(documents, "shenkai"), "document_approval",
                            document("关于地下管廊建设的请示"))
            raise RuntimeError("the step fails after it wrote its document")
    assert found(documents, "shenkai", "管廊")["total"] == 0


def test_filters_narrow_the_matches(documents):
    urgent = start_instance(documents, "shenkai", "document_approval", document(TITLE, urgency="特急"))
    plain = start_instance(documents, "shenkai", "document_approval", document("关于站台照明的请示"))
    assert {i["id"] for i in found(documents, "shenkai", "站台")["items"]} == {urgent, plain}
    assert [i["id"] for i in found(documents, "shenkai", "站台", urgency="特急")["items"]] == [urgent]
    assert found(documents, "shenkai", "站台", status="completed")["total"] == 0
    assert found(documents, "shenkai", "站台", process_id="dept_request")["total"] == 0
    assert found(documents, "shenkai", "站台", department="jyj", status="running")["total"] == 2
    day = search.Query.parse({"q": "站台", "from": "2026-11-23", "to": "2026-11-23"})
    later = search.Query.parse({"q": "站台", "from": "2026-11-24"})
    with documents.store.read() as session:
        assert search.search(documents, session, actor(documents, "shenkai"), day)["total"] == 2
        assert search.search(documents, session, actor(documents, "shenkai"), later)["total"] == 0


def test_a_secret_matter_is_found_only_by_those_who_may_see_it_not_even_counted_for_others(documents):
    """The access matrix's people of test_secrecy: a 机密 document and a plain one share a word."""
    api = Api(create_app(system=documents))
    hidden = secret(documents)
    plain = start_instance(documents, "shenkai", "document_approval", document("关于干部培训的请示"))
    for person, (sees_secret, sees_plain) in SEEN.items():
        answer = api.get("/search?q=干部", person)
        assert answer.status_code == 200, person
        body = answer.get_json()
        assert {i["id"] for i in body["items"]} == {i for i, seen in ((hidden, sees_secret), (plain, sees_plain))
                                                   if seen}, person
        assert body["total"] == sees_secret + sees_plain, person
        if not sees_secret:
            assert "任免" not in json.dumps(body, ensure_ascii=False), person    # nor in a snippet
            assert api.get("/search?q=任免", person).get_json() == {"items": [], "total": 0, "more": False}, person
    assert found(documents, "shenkai", "任免")["items"][0]["title"] == SECRET


@pytest.mark.parametrize("query", ['"干部"', "干部 OR 任免", 'NEAR("干部" "任免", 2)', "干部*", "干部 & !任免",
                                   "\u200b干部", "%_干部%", "ＡＮＤ"])
def test_odd_queries_answer_normally(documents, query):
    api = Api(create_app(system=documents))
    secret(documents)
    answer = api.get("/search", "shenkai", query_string={"q": query})
    assert answer.status_code == 200, answer.get_json()


@pytest.mark.parametrize("args, message", [
    ({"q": "站" * 10_000}, "检索词过长"), ({"q": ""}, "须包含汉字"), ({"q": "'"}, "须包含汉字"),
    ({"q": '"('}, "须包含汉字"), ({"q": "站台", "status": "gone"}, "status"),
    ({"q": "站台", "from": "2026-13-01"}, "起始日期"), ({"q": "站台", "urgency": "急"}, "紧急程度"),
    ({"q": "站台", "limit": "100000"}, "limit"),
])
def test_bad_queries_are_refused_with_a_clear_message(documents, args, message):
    answer = Api(create_app(system=documents)).get("/search", "shenkai", query_string=args)
    assert answer.status_code == 422 and message in answer.get_json()["message"], answer.get_json()


def test_the_set_form_of_the_access_condition_selects_what_the_row_form_does(documents):
    """access.visible_among_many (the search's) against access.visible_instances, for everyone of
    test_secrecy, over a 机密 document with a 分发范围, a plain one, one handed on by 转办 and one 委派."""
    from sqlalchemy import select

    from govflow.people import access
    from govflow.store.models import Instance
    from govflow.work import tasks
    made = [secret(documents), *(start_instance(documents, "shenkai", "document_approval", document(f"关于{n}的请示"))
                                 for n in ("校舍维修", "站台照明", "河道整治"))]
    receipt = open_tasks(documents, made[2])[0].id
    with documents.store.write() as session:
        tasks.claim(documents, session, actor(documents, "songyang"), receipt)
        tasks.transfer(documents, session, actor(documents, "songyang"), receipt, "qiaohui")
    receipt = open_tasks(documents, made[3])[0].id
    with documents.store.write() as session:
        tasks.claim(documents, session, actor(documents, "songyang"), receipt)
        tasks.delegate(documents, session, actor(documents, "songyang"), receipt, "shuitianming")
    for person in SEEN:
        who = actor(documents, person)
        with documents.store.read() as session:
            now, runtime = documents.moment(session)
            people = access.acting_people(session, runtime.org, who, now)
            rows = access.visible_instances(runtime.org, who, people)
            sets = access.visible_among_many(runtime.org, who, people)
            by_rows = set(session.scalars(select(Instance.id).where(rows)))
            by_sets = set(session.scalars(select(Instance.id).where(*([] if sets is None else [sets]))))
        assert by_rows == by_sets, person
