"""The OpenAPI 3.1 document of /api/v1. Request bodies are validated against the schemas below, so
what the document promises is what the server checks."""
from __future__ import annotations

from ..store.models import MAX_ID

_ID = {"type": "string", "minLength": 1, "maxLength": 40}
_TEXT = {"type": "string", "maxLength": 2000}
_MOMENT = {"type": "string", "format": "date-time", "description": "ISO-8601；不带时区时按北京时间"}

SCHEMAS = {
    "Login": {"type": "object", "required": ["username", "password"], "additionalProperties": False,
              "properties": {"username": {"type": "string", "title": "用户名", "minLength": 1, "maxLength": 40},
                             "password": {"type": "string", "title": "密码", "minLength": 1, "maxLength": 200}}},
    "ChangePassword": {"type": "object", "required": ["old_password", "new_password"], "additionalProperties": False,
                       "properties": {"old_password": {"type": "string", "title": "原密码", "minLength": 1,
                                                       "maxLength": 200},
                                      "new_password": {"type": "string", "title": "新密码", "minLength": 4,
                                                       "maxLength": 200}}},
    "ResetPassword": {"type": "object", "required": ["password"], "additionalProperties": False,
                      "properties": {"password": {"type": "string", "title": "新密码", "minLength": 4,
                                                  "maxLength": 200}}},
    "StartInstance": {"type": "object", "required": ["process_id"], "additionalProperties": False,
                      "properties": {"process_id": {"type": "string", "title": "流程标识", "minLength": 1,
                                                    "maxLength": 100},
                                     "data": {"type": "object", "title": "启动数据"},
                                     "business_key": {"type": "string", "title": "业务编号", "maxLength": 100},
                                     "title": {"type": "string", "title": "标题", "maxLength": 300}}},
    "CompleteTask": {"type": "object", "required": ["data"], "additionalProperties": False,
                     "properties": {"data": {"type": "object", "title": "表单数据"}}},
    "HandOver": {"type": "object", "required": ["to"], "additionalProperties": False,
                 "properties": {"to": {**_ID, "title": "转交对象"}, "reason": {**_TEXT, "title": "理由"},
                                "note": {**_TEXT, "title": "说明"}}},
    "Note": {"type": "object", "additionalProperties": False,
             "properties": {"note": {**_TEXT, "title": "说明"}}},
    "Resolve": {"type": "object", "additionalProperties": False,
                "properties": {"note": {**_TEXT, "title": "办理情况"},
                               "data": {"type": "object", "title": "为委派人拟填的表单"}}},
    "SendBack": {"type": "object", "required": ["to", "reason"], "additionalProperties": False,
                 "properties": {"to": {"type": "string", "title": "退回到的步骤", "minLength": 1, "maxLength": 100},
                                "reason": {"type": "string", "title": "退回理由", "minLength": 1, "maxLength": 2000}}},
    "AddSigner": {"type": "object", "required": ["to"], "additionalProperties": False,
                  "properties": {"to": {**_ID, "title": "加签人"}, "note": {**_TEXT, "title": "说明"}}},
    "Circulate": {"type": "object", "required": ["to"], "additionalProperties": False,
                  "properties": {"to": {"type": "array", "title": "传阅对象", "minItems": 1, "maxItems": 100,
                                        "items": _ID},
                                 "note": {**_TEXT, "title": "说明"}}},
    "Comment": {"type": "object", "required": ["text"], "additionalProperties": False,
                "properties": {"text": {"type": "string", "title": "意见", "minLength": 1, "maxLength": 2000}}},
    "LeaveRequest": {"type": "object", "required": ["person", "starts_at", "ends_at"], "additionalProperties": False,
                     "properties": {"person": {**_ID, "title": "请假人"}, "starts_at": {**_MOMENT, "title": "开始时间"},
                                    "ends_at": {**_MOMENT, "title": "结束时间"},
                                    "reason": {"type": "string", "title": "事由", "maxLength": 200}}},
    "CalendarDay": {"type": "object", "required": ["workday"], "additionalProperties": False,
                    "properties": {"workday": {"type": "boolean", "title": "是否工作日"},
                                   "note": {"type": "string", "title": "说明", "maxLength": 100}}},
    "CalendarYear": {"type": "object", "required": ["holidays", "workdays", "source"], "additionalProperties": False,
                     "properties": {
                         "holidays": {"type": "array", "title": "放假日期", "maxItems": 60,
                                      "items": {"type": "string", "format": "date"}},
                         "workdays": {"type": "array", "title": "调休上班日期", "maxItems": 30,
                                      "items": {"type": "string", "format": "date"}},
                         "source": {"type": "string", "title": "依据（如国务院办公厅通知文号）", "minLength": 1,
                                    "maxLength": 200}}},
    "ArrangeMeeting": {"type": "object", "required": ["at"], "additionalProperties": False,
                       "properties": {"at": {**_MOMENT, "title": "会议时间"}}},
    "EmergencyDecision": {"type": "object", "required": ["matter"], "additionalProperties": False,
                          "properties": {"matter": {"type": "string", "title": "临机处置事项及处置情况", "minLength": 1,
                                                    "maxLength": 5000}}},
    "SetClock": {"type": "object", "required": ["now"], "additionalProperties": False,
                 "properties": {"now": {**_MOMENT, "title": "时间"},
                                "frozen": {"type": "boolean", "title": "是否冻结"}}},
    "AdvanceClock": {"type": "object", "additionalProperties": False, "minProperties": 1,
                     "properties": {"days": {"type": "integer", "title": "天", "minimum": 0, "maximum": 3660},
                                    "hours": {"type": "integer", "title": "小时", "minimum": 0, "maximum": 87840},
                                    "minutes": {"type": "integer", "title": "分钟", "minimum": 0, "maximum": 527040}}},
    "Error": {"type": "object", "required": ["error", "message"],
              "properties": {"error": {"type": "string"}, "message": {"type": "string", "description": "中文说明"},
                             "details": {"type": "array", "items": {"type": "object"}}}},
}


def _body(name: str) -> dict:
    return {"required": True, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}}


def _op(summary: str, body: str | None = None, params: list | None = None, ok: str = "200",
        public: bool = False) -> dict:
    op = {"summary": summary, "responses": {ok: {"description": "成功"}, "4XX": {
        "description": "请求有误（中文说明与逐项原因）",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}}}
    if body:
        op["requestBody"] = _body(body)
    if params:
        op["parameters"] = params
    if public:
        op["security"] = []
    return op


def _path(name: str, type_: str = "string") -> dict:
    schema = {"type": type_}
    if type_ == "integer":       # what an <int:…> route matches (app.RowId); anything else is a 404
        schema.update(minimum=0, maximum=MAX_ID)
    return {"name": name, "in": "path", "required": True, "schema": schema}


def _query(name: str, type_: str = "string", **extra) -> dict:
    return {"name": name, "in": "query", "required": False, "schema": {"type": type_, **extra}}


_TASK = [_path("task_id")]
PATHS = {
    "/auth/token": {"post": _op("登录，取得访问令牌", "Login", ok="201", public=True),
                    "delete": _op("注销当前令牌", ok="204")},
    "/auth/tokens": {"delete": _op("退出所有设备：注销本人的全部令牌（含浏览器登录）")},
    "/me": {"get": _op("当前用户、待办数量与代理关系")},
    "/me/password": {"put": _op("修改本人密码（须提供原密码）；其他设备上的登录全部退出", "ChangePassword")},
    "/people/{person_id}/tokens": {"delete": _op("管理员：使某人退出所有设备", params=[_path("person_id")])},
    "/people/{person_id}/password": {"put": _op("管理员：重置某人密码；其全部登录退出", "ResetPassword",
                                                params=[_path("person_id")])},
    "/processes": {"get": _op("流程定义及其版本"),
                   "post": {**_op("部署流程图（application/xml 或 multipart：file 与若干表单）", ok="201"),
                            "requestBody": {"required": True, "content": {
                                "application/xml": {"schema": {"type": "string"}},
                                "multipart/form-data": {"schema": {"type": "object", "properties": {
                                    "file": {"type": "string", "format": "binary"}}}}}}}},
    "/processes/{process_id}/versions/{version}/bpmn": {
        "get": _op("某一版本的 BPMN 文件", params=[_path("process_id"), _path("version", "integer")])},
    "/instances": {"get": _op("流程实例列表", params=[_query("process_id"), _query("status"), _query("business_key"),
                                                 _query("limit", "integer"), _query("offset", "integer")]),
                   "post": _op("发起流程", "StartInstance", ok="201")},
    "/instances/{instance_id}": {"get": _op("流程实例详情", params=[_path("instance_id", "integer")])},
    "/instances/{instance_id}/events": {"get": _op("流程实例的事件记录", params=[_path("instance_id", "integer")])},
    "/instances/{instance_id}/files": {"get": _op("事项的正文（各版本）与附件",
                                                  params=[_path("instance_id", "integer")])},
    "/instances/{instance_id}/files/diff": {"get": _op("两个 .docx 正文版本的文字差异", params=[
        _path("instance_id", "integer"), _query("old", "integer"), _query("new", "integer")])},
    "/tasks/{task_id}/files": {
        "post": {**_op("在本环节上传正文或附件（multipart：file 与 role=正文/附件）", params=_TASK, ok="201"),
                 "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                     "type": "object", "required": ["file", "role"], "properties": {
                         "file": {"type": "string", "format": "binary"},
                         "role": {"type": "string", "enum": ["正文", "附件"]}}}}}}}},
    "/files/{file_id}": {"get": _op("下载文件（审计人员及非办理人下载时记录在事件链中）",
                                    params=[_path("file_id", "integer")])},
    "/instances/{instance_id}/circulate": {
        "post": _op("传阅/抄送", "Circulate", params=[_path("instance_id", "integer")], ok="201")},
    "/tasks": {"get": _op("待办查询", params=[
        _query("view", enum=["mine", "group", "read", "done", "all"]), _query("overdue", "boolean"),
        _query("process_id"),
        _query("business_key"), _query("q"), _query("urgency"), _query("limit", "integer"),
        _query("offset", "integer")])},
    "/tasks/{task_id}": {"get": _op("任务详情（含表单）", params=_TASK)},
    "/tasks/{task_id}/claim": {"post": _op("认领", params=_TASK)},
    "/tasks/{task_id}/unclaim": {"post": _op("退回认领", params=_TASK)},
    "/tasks/{task_id}/complete": {"post": _op("办理（提交表单）", "CompleteTask", params=_TASK)},
    "/tasks/{task_id}/transfer": {"post": _op("转办", "HandOver", params=_TASK)},
    "/tasks/{task_id}/delegate": {"post": _op("委派", "HandOver", params=_TASK)},
    "/tasks/{task_id}/resolve": {"post": _op("交回委派", "Resolve", params=_TASK)},
    "/tasks/{task_id}/return": {"post": _op("退回到此前的步骤", "SendBack", params=_TASK)},
    "/tasks/{task_id}/withdraw": {"post": _op("撤回本人刚办理的任务", "Note", params=_TASK)},
    "/tasks/{task_id}/addsign": {"post": _op("加签", "AddSigner", params=_TASK, ok="201")},
    "/tasks/{task_id}/read": {"post": _op("传阅件标记已阅", "Note", params=_TASK)},
    "/tasks/{task_id}/comments": {"post": _op("填写意见", "Comment", params=_TASK, ok="201")},
    "/tasks/{task_id}/press": {"post": _op("催办", "Note", params=_TASK)},
    "/search": {"get": _op("检索本人可见的事项：标题、文号/督办编号、表单内容、意见（中文按双字切分，单字亦可）",
                           params=[_query("q", maxLength=100), _query("process_id"),
                                   _query("status", enum=["running", "completed"]), _query("from", format="date"),
                                   _query("to", format="date"), _query("department"),
                                   _query("urgency", enum=["一般", "加急", "特急", "特急重要"]),
                                   _query("limit", "integer"), _query("offset", "integer")])},
    "/notifications": {"get": _op("本人的消息（未读数 unread）", params=[
        _query("unread", "boolean"), _query("limit", "integer"), _query("offset", "integer")])},
    "/notifications/{notification_id}/read": {"post": _op("标记消息已读", params=[_path("notification_id")])},
    "/notifications/read-all": {"post": _op("全部标记已读")},
    "/org": {"get": _op("组织机构")},
    "/leave": {"get": _op("请假记录", params=[_query("active", "boolean")]),
               "post": _op("登记请假", "LeaveRequest", ok="201")},
    "/leave/{leave_id}": {"delete": _op("撤销请假", params=[_path("leave_id", "integer")])},
    "/meetings": {"get": _op("常务会议列表", params=[_query("status"), _query("limit", "integer")]),
                  "post": _op("安排常务会议（启动会议流程）", "ArrangeMeeting", ok="201")},
    "/meetings/{meeting_id}": {"get": _op("常务会议详情：议程、出席、审议结果、议定事项",
                                          params=[_path("meeting_id", "integer")])},
    "/emergency-decisions": {"get": _op("临机处置事项"),
                             "post": _op("登记临机处置事项（提交下次常务会议报告）", "EmergencyDecision", ok="201")},
    "/followups": {"get": _op("督办台账（format=csv 或 xlsx 时下载表格）", params=[
        _query("meeting", "integer"), _query("unit"), _query("leader"), _query("status"), _query("due_from"),
        _query("due_to"), _query("format")])},
    "/followups/summary": {"get": _op("督办事项季度汇总：各主办单位按期办结率（format=csv 或 xlsx 时下载表格）",
                                      params=[_query("quarter"), _query("format")])},
    "/followups/{item_id}": {"get": _op("督办事项及其办理记录", params=[_path("item_id", "integer")])},
    "/major-decisions": {"get": _op("重大行政决策列表", params=[_query("status")])},
    "/major-decisions/{decision_id}": {"get": _op("重大行政决策及其各环节记录（议题、会议、督办事项）",
                                                   params=[_path("decision_id", "integer")])},
    "/calendar/{year}": {"get": _op("某年的工作日历", params=[_path("year", "integer")])},
    "/calendar/days/{day}": {"put": _op("调整某一天", "CalendarDay", params=[_path("day")])},
    "/calendar/years/{year}": {"put": _op("录入某年放假安排", "CalendarYear", params=[_path("year", "integer")])},
    "/calendar/deadline": {"get": _op("按工作日计算期限", params=[_query("start"), _query("workdays", "integer")])},
    "/clock": {"get": _op("系统时间"), "put": _op("设定系统时间（仅测试/演示模式）", "SetClock")},
    "/clock/advance": {"post": _op("拨快系统时间（仅测试/演示模式）", "AdvanceClock")},
    "/audit/verify": {"get": _op("校验事件链", params=[_query("instance_id", "integer")])},
    "/audit/anchor": {"get": _op("导出锚点（链尾与各实例的最后一条事件，交外部保存）")},
    "/audit/export": {"get": _op("导出事件日志（format=xes 或 ocel，供过程挖掘工具使用）",
                                 params=[_query("format"), _query("process_id")])},
    "/audit/reexecute": {"get": _op("按原流程版本重新执行实例的历史，核对与存储的状态和事件是否一致",
                                    params=[_query("instance_id", "integer")])},
    "/instances/{instance_id}/replay": {"get": _op("回放：实例在某条事件时的状态",
                                                   params=[_path("instance_id", "integer"), _query("seq", "integer")])},
    "/audit/refusals": {"get": _op("越权操作记录：被拒绝的办理、修改请求（按人、日、种类合并计次）",
                                   params=[_query("actor"), _query("limit", "integer"), _query("offset", "integer")])},
    "/openapi.json": {"get": _op("本文档", public=True)},
    "/health": {"get": {**_op("健康检查：数据库可否访问、磁盘是否已满（503、507 时说明原因）", public=True),
                        "responses": {"200": {"description": "正常"}, "503": {"description": "数据库无法访问"},
                                      "507": {"description": "数据库所在磁盘已满"}}}},
}

IDEMPOTENCY_KEY = {"name": "Idempotency-Key", "in": "header", "required": False,
                   "description": "重试时带同一个键：已办理的请求返回第一次的结果，不会重复办理（保留 24 小时）",
                   "schema": {"type": "string", "minLength": 1, "maxLength": 100, "pattern": "^[!-~]+$"}}
_FAULTS = {"503": {"description": "数据库暂时无法访问（Retry-After 秒后重试）"},
           "507": {"description": "数据库所在磁盘已满，未保存"}}
for _operations in PATHS.values():        # every write takes an Idempotency-Key and may meet a fault
    for _method, _operation in _operations.items():
        if _method in ("post", "put", "delete"):
            _operation["parameters"] = [*_operation.get("parameters", []), IDEMPOTENCY_KEY]
            _operation["responses"].update(_FAULTS)


def document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {"title": "govflow API", "version": "1",
                 "description": "议题申报上会、公文审批与签发、议定事项督办的流程接口。"
                                "所有时间为北京时间（+08:00）；错误以中文说明，并逐项列出原因。"},
        "servers": [{"url": "/api/v1"}],
        "components": {"schemas": SCHEMAS,
                       "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}}},
        "security": [{"token": []}],
        "paths": PATHS,
    }
