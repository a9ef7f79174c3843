"""Issue 18, round 2, points 5-7 and the unit a matter is started in: 传阅 of a 涉密 document stays
within its 分发范围; a password change, a reset or 退出所有设备 ends every session of that person;
session cookies are SameSite=Lax (Secure over HTTPS); every refused write is recorded for auditors,
bounded; a matter is started only in a unit one belongs to or acts for."""
from __future__ import annotations

from conftest import REPO, Api, build_system
from govflow.app import create_app
from helpers import deploy_xml, open_tasks
from helpers import start as start_instance

SECRET = "关于干部任免的请示（机密）"


def document(title: str, secrecy: str = "无", **more) -> dict:
    return {"doc_type": "请示", "title": title, "department": "jyj", "urgency": "一般", "secrecy": secrecy,
            "category": "government_business", "issuer": "政府", "departments": [], "body": "妥否，请批示。",
            "signoff": {"signer": "liangxiaodong", "meeting": "局务会议纪要〔2026〕3号"}, **more}


def documents(url: str):
    system = build_system(url)
    deploy_xml(system, (REPO / "processes" / "document_approval.bpmn").read_bytes(), "document_approval.bpmn")
    return system


# -- point 5: 传阅 of a 涉密 document --------------------------------------------------------------------------
def test_circulating_a_classified_document_outside_its_distribution_is_refused_in_chinese(sqlite_url):
    system = documents(sqlite_url)
    api = Api(create_app(system=system))
    hidden = start_instance(system, "shenkai", "document_approval", document(
        SECRET, "机密", distribution={"departments": ["czj"], "people": ["zhoubo"]}))
    # 宋阳 (办公室) is only a candidate of 收文登记; 蒋建国 is of 教育局 but off the 分发范围
    refused = api.post(f"/instances/{hidden}/circulate", "songyang", json={"to": ["zhoubo", "jiangjianguo"]})
    assert refused.status_code == 403
    message = refused.get_json()["message"]
    assert "机密" in message and "分发范围" in message and "蒋建国" in message
    assert api.get(f"/instances/{hidden}", "jiangjianguo").status_code == 403
    assert not [t for t in open_tasks(system, hidden) if t.kind == "read"]          # nobody got a copy
    # within the 分发范围 (a person, a department's member) and to an auditor it goes
    shown = api.post(f"/instances/{hidden}/circulate", "songyang", json={"to": ["zhoubo", "qiaohui", "xuxiaoling"]})
    assert shown.status_code == 201, shown.get_json()
    assert api.get(f"/instances/{hidden}", "zhoubo").status_code == 200
    # a plain document still circulates to anyone
    plain = start_instance(system, "shenkai", "document_approval", document("关于校舍维修的请示"))
    assert api.post(f"/instances/{plain}/circulate", "songyang", json={"to": ["shuitianming"]}).status_code == 201
    system.store.dispose()
