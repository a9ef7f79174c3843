"""The ``govflow`` command. Every command answers errors in words, never with a traceback."""
from __future__ import annotations

import json
import os
import secrets
import shutil
import sys
import threading
from datetime import date, timedelta
from pathlib import Path

import click
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from . import profiles
from .audit import archive, backup, exports, replay
from .bpmn.deploy import deploy as deploy_file
from .bpmn.xml import MAX_BYTES as MAX_BPMN_BYTES
from .config import Settings
from .engine import forms
from .errors import GovflowError, NotFound, ValidationFailed
from .people import auth
from .people.org import Organisation
from .store import anchor_files, database, eventlog
from .time.timeutil import isoformat, parse_moment
from .work import admin, files, instances, worker
from .work import demo as demo_work
from .work.system import Govflow


class _Command(click.Group):
    def invoke(self, ctx):
        try:
            try:
                return super().invoke(ctx)
            except DBAPIError as err:
                raise database.fault(err) or GovflowError(f"数据库操作失败：{err.orig}") from None
        except GovflowError as err:
            click.echo(f"错误：{err.message}", err=True)
            for detail in err.details[:50]:
                where = detail.get("element") or detail.get("field") or ""
                click.echo(f"  - {where}：{detail.get('reason')}", err=True)
            sys.exit(2)


@click.group(cls=_Command)
@click.option("--database-url", envvar="GOVFLOW_DATABASE_URL", help="默认 sqlite:///instance/govflow.db")
@click.pass_context
def main(ctx, database_url):
    """govflow：区政府工作规则的流程系统。"""
    ctx.obj = _Lazy(database_url)


class _Lazy:
    def __init__(self, database_url):
        self.database_url = database_url
        self._system = None
        self._settings = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            url = self.database_url or _demo_database()
            demo = url is not None and not self.database_url
            self._settings = Settings.from_env(database_url=url, **(_demo_sealing() if demo else {}))
        return self._settings

    @property
    def system(self) -> Govflow:
        if self._system is None:
            self._system = Govflow(self.settings)
        return self._system


# `govflow demo` leaves the address of its database here, so that the other commands run in the
# same directory (clock, audit, deploy…) work on the demo rather than on an empty default database.
DEMO_POINTER = Path("instance") / "demo-database"


def _demo_database() -> str | None:
    """The demo's database when neither --database-url nor GOVFLOW_DATABASE_URL names one."""
    if not DEMO_POINTER.is_file():
        return None
    url = DEMO_POINTER.read_text(encoding="utf-8").strip()
    click.echo(f"（使用演示库 {url}，见 {DEMO_POINTER}；另用其他库请设置 GOVFLOW_DATABASE_URL）", err=True)
    return url


# The demo's sealing key and anchors, outside its database (as production keeps them, on other storage)
DEMO_SEAL_KEY = Path("instance") / "demo-seal.key"
DEMO_ANCHORS = Path("instance") / "demo-anchors"


def _demo_sealing() -> dict:
    """The demo's key file and anchor directory, unless the environment names others."""
    found = {}
    if DEMO_SEAL_KEY.is_file() and not (os.environ.get("GOVFLOW_SEAL_KEY_FILE") or os.environ.get("GOVFLOW_SEAL_KEY")):
        found["seal_key_file"] = str(DEMO_SEAL_KEY.resolve())
    if not os.environ.get("GOVFLOW_ANCHOR_DIR"):
        found["anchor_dir"] = str(DEMO_ANCHORS.resolve())
    return found


def _system(ctx) -> Govflow:
    return ctx.obj.system


@main.command()
@click.option("--org", "org_file", type=click.Path(exists=True, dir_okay=False), help="组织机构 TOML 文件")
@click.pass_context
def init(ctx, org_file):
    """建库（迁移到最新结构），并可载入组织机构。"""
    system = _system(ctx)
    system.store.migrate()
    click.echo(f"数据库已就绪：{system.settings.database_url}")
    with system.store.write() as session:
        began = eventlog.begin_sealing(session, system.now(session))
    if began:
        click.echo(f"已启用事件封签：第 {began} 条起的事件均带封签")
    if org_file:
        org = Organisation.from_toml(Path(org_file).read_text(encoding="utf-8"))
        with system.store.write() as session:
            version = admin.load_organisation(system, session, org, "cli")
        click.echo(f"已载入组织机构：{org.name}（规则：{org.profile_id}，第 {version} 版，{len(org.people)} 人）")


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--as", "actor", default="cli", help="记录为部署人")
@click.pass_context
def deploy(ctx, files, actor):
    """部署 BPMN 流程图（检查不通过则逐项列出问题，不作任何存储）。"""
    system = _system(ctx)
    for file in files:
        size = Path(file).stat().st_size
        if size > MAX_BPMN_BYTES:        # refused unread, as the API refuses a body over its limit
            raise ValidationFailed(f"{Path(file).name} 文件过大（{size // 1024} KB，上限 "
                                   f"{MAX_BPMN_BYTES // 1024 // 1024} MB），未部署")
        result = deploy_file(system, Path(file).read_bytes(), Path(file).name, actor)
        for version in result["versions"]:
            state = "未变化" if version["unchanged"] else "已部署"
            click.echo(f"{state}：{version['process_id']} 第 {version['version']} 版（{version['name']}）")
        for warning in result["warnings"]:
            click.echo(f"  提示：{warning['element']}：{warning['reason']}")


@main.command()
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
@click.pass_context
def serve(ctx, host, port):
    """启动服务（开发与演示用；生产请用 gunicorn，见 README）。"""
    from .app import create_app
    app = create_app(system=_system(ctx))
    click.echo(f"govflow 正在运行：http://{host}:{port}/")
    app.run(host=host, port=port, threaded=True, use_reloader=False)


@main.command("worker")
@click.option("--once", is_flag=True, help="触发一次到期定时器后退出（测试、cron 用）")
@click.option("--interval", default=5.0, type=float, help="轮询间隔（秒）")
@click.pass_context
def run_worker(ctx, once, interval):
    """触发到期的定时器。多个 worker 可共用一个 PostgreSQL 数据库。"""
    system = _system(ctx)
    if system.settings.mode == "production":
        system.store.check_durability()
        system.settings.check_sealing()
    if once:
        click.echo(f"已触发 {worker.run_once(system)} 个定时器")
        return
    click.echo(f"worker 已启动，每 {interval} 秒检查一次到期定时器")
    worker.run_forever(system, interval)


@main.command("backup")
@click.argument("output", type=click.Path(dir_okay=False, writable=True))
@click.pass_context
def backup_command(ctx, output):
    """在服务运行时做一致的备份，写完后校验备份中的事件链与快照。

    SQLite 用在线备份（不是复制文件）；PostgreSQL 用 pg_dump 自定义格式。
    """
    check = backup.backup(_system(ctx).settings.database_url, Path(output))
    click.echo(f"备份已写入 {output}，校验通过：{check.summary()}均与校验值一致")


@main.command("restore")
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
@click.option("--force", is_flag=True, help="目标数据库已有数据时仍用备份覆盖（先停止服务与 worker）")
@click.pass_context
def restore_command(ctx, source, force):
    """从 govflow backup 的备份恢复：先校验备份，目标库非空时不覆盖（除非 --force），恢复后再校验事件链。"""
    database_url = _system(ctx).settings.database_url
    check = backup.restore(database_url, Path(source), force)
    click.echo(f"已从 {source} 恢复，校验通过：{check.summary()}均与校验值一致")


@main.group("archive", invoke_without_command=True)
@click.option("--output", type=click.Path(file_okay=False, writable=True), help="归档包写入的目录")
@click.option("--instance", "instance_ids", type=int, multiple=True, help="只归档某个已办结的事项（可多次给出）")
@click.pass_context
def archive_group(ctx, output, instance_ids):
    """归档：每个已办结事项一个 ZIP 归档包（元数据、正文各版本、附件、带哈希的事件）。

    govflow archive --output DIR 归档全部已办结事项；govflow archive verify FILE 离线校验归档包。
    """
    if ctx.invoked_subcommand is not None:
        return
    if not output:
        raise click.UsageError("请用 --output 指定归档包写入的目录")
    system = _system(ctx)
    with system.store.read() as session:
        ids = list(instance_ids) or archive.completed(session)
        written = archive.write_packages(session, files.contents(system), ids, Path(output),
                                         system.settings.archive_retention, system.now(session))
    for path in written:
        click.echo(f"已写入 {path}")
    click.echo(f"共 {len(written)} 个归档包")


@archive_group.command("verify")
@click.argument("package", type=click.Path(exists=True, dir_okay=False))
def archive_verify(package):
    """离线校验归档包：各文件与清单、与附加事件所记的哈希，各事件的哈希与编号。"""
    check = archive.verify(Path(package))
    if check.ok:
        click.echo(f"{package} 校验通过：{check.events} 条事件、{check.files} 个文件的哈希均一致")
        return
    for problem in check.problems:
        click.echo(f"✗ {problem}")
    click.echo(f"{package} 未通过校验（{len(check.problems)} 处问题）")
    sys.exit(1)


@main.group("audit")
def audit_group():
    """审计。"""


@audit_group.command("verify")
@click.option("--instance", "instance_id", type=int, help="只校验某个流程实例")
@click.option("--anchor", "anchor_file", type=click.Path(exists=True, dir_okay=False),
              help="并核对此前导出的锚点文件：锚点之前的历史是否被改写")
@click.pass_context
def audit_verify(ctx, instance_id, anchor_file):
    """校验事件哈希链：报告被修改、删除、插入或调换的第一条事件。"""
    if anchor_file and instance_id:
        raise click.UsageError("--anchor 校验整条事件链，不能与 --instance 同用")
    anchor = _read_anchor(anchor_file) if anchor_file else None
    settings = _settings(ctx)
    if anchor is None and instance_id is None and settings.anchor_dir:
        found, skipped = anchor_files.newest(Path(settings.anchor_dir))
        for note in skipped:
            click.echo(f"提示：{note}", err=True)
        if found is not None:
            anchor = found.anchor
            click.echo(f"核对锚点目录中最新的锚点：{found.path}")
    store = _read_only_store(ctx)
    try:
        with store.read() as session:
            result = eventlog.verify_anchor(session, anchor) if anchor else eventlog.verify(session, instance_id)
    finally:
        store.dispose()
    for note in result.notes:
        click.echo(f"提示：{note}", err=True)
    if result.ok:
        sealed = f"，第 {result.sealed_from} 条起的封签均核对无误" if result.sealed_from and store.seal_key else ""
        click.echo(f"事件链完整：共 {result.events} 条事件，链尾第 {result.head_seq} 条{sealed}")
        if anchor:
            click.echo(f"与锚点一致：{anchor['at']} 时的链尾第 {anchor['head']['seq']} 条"
                       "及各实例的最后一条事件均未改变")
        return
    click.echo(f"事件链被破坏：共 {len(result.findings)} 处问题；第一处：{result.first_bad.reason}", err=True)
    for finding in result.findings[1:20]:
        click.echo(f"  - {finding.reason}", err=True)
    sys.exit(1)


def _read_only_store(ctx) -> database.Store:
    """An auditor's look at a database (often a backup copy): SQLite opened read-only, so that
    checking a file never changes it."""
    settings = _settings(ctx)
    url = settings.database_url
    path = make_url(url).database if url.startswith("sqlite") else None
    if path and path != ":memory:" and not Path(path).is_file():
        raise NotFound(f"数据库文件 {path} 不存在")
    return database.Store(url, read_only=True, seal_key=settings.seal_key())


def _settings(ctx) -> Settings:
    return ctx.obj.settings


def _read_anchor(path: str) -> dict:
    try:
        anchor = json.loads(Path(path).read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as err:
        raise click.BadParameter(f"锚点文件不是合法的 JSON（{err}）", param_hint="--anchor") from None
    if not isinstance(anchor, dict) or not isinstance(anchor.get("head"), dict):
        raise click.BadParameter("不是 govflow 的锚点文件", param_hint="--anchor")
    return anchor


@audit_group.command("reexecute")
@click.option("--instance", "instance_id", type=int, help="只重新执行某个流程实例（默认全部）")
@click.pass_context
def audit_reexecute(ctx, instance_id):
    """按各实例所用的流程版本重新执行其历史，核对能否再现存储的状态与事件；有差异时逐条列出并以 1 退出。"""
    system = _system(ctx)
    with system.store.read() as session:
        results = replay.reexecute_all(system, session, instance_id)
    differing = [r for r in results if not r.ok]
    for result in differing:
        click.echo(f"实例 {result.instance_id}：{len(result.differences)} 处差异", err=True)
        for difference in result.differences[:20]:
            click.echo(f"  - 第 {difference.seq} 条事件：{difference.what}", err=True)
    if differing:
        sys.exit(1)
    click.echo(f"重新执行 {len(results)} 个流程实例，均与记录一致，无差异")


@audit_group.command("anchor")
@click.option("--output", type=click.Path(dir_okay=False, writable=True), help="写入文件（默认输出到标准输出）")
@click.pass_context
def audit_anchor(ctx, output):
    """导出锚点（链尾序号与哈希、时间、各实例的最后一条事件），交外部保存，日后可证明此前的历史未被改写。"""
    system = _system(ctx)
    with system.store.read() as session:
        anchor = eventlog.anchor(session, system.now(session))
    text = json.dumps(anchor, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    if not output:
        click.echo(text, nl=False)
        return
    Path(output).write_text(text, encoding="utf-8")
    click.echo(f"锚点已写入 {output}：链尾第 {anchor['head']['seq']} 条，摘要 {anchor['digest']}", err=True)


@audit_group.command("export")
@click.option("--format", "fmt", type=click.Choice(sorted(exports.FORMATS)), required=True,
              help="xes（IEEE 1849）或 ocel（OCEL 2.0 JSON）")
@click.option("--process", "process_id", help="只导出某个流程")
@click.option("--output", type=click.Path(dir_okay=False, writable=True), help="输出文件（默认标准输出）")
@click.pass_context
def audit_export(ctx, fmt, process_id, output):
    """导出事件日志供过程挖掘工具使用（UTF-8，北京时间）。"""
    system = _system(ctx)
    with system.store.read() as session, click.open_file(output or "-", "w", encoding="utf-8") as out:
        for chunk in exports.export(session, fmt, system.organisation(session), process_id):
            out.write(chunk)


@main.group("calendar")
def calendar_group():
    """工作日历。"""


@calendar_group.command("show")
@click.argument("year", type=int)
@click.pass_context
def calendar_show(ctx, year):
    """列出某年的节假日与调休上班日。"""
    system = _system(ctx)
    with system.store.read() as session:
        calendar = system.calendar(session)
    if not calendar.covers(year):
        click.echo(f"{year} 年放假安排尚未录入：按周一至周五估算（期限将标注为估算）")
    for day in calendar.year(year):
        weekend = day.day.weekday() >= 5
        if day.workday == weekend:
            kind = "调休上班" if day.workday else "放假"
            click.echo(f"{day.day.isoformat()}  {kind}  {day.note}  [{day.source}]")


@calendar_group.command("set")
@click.argument("day")
@click.option("--workday/--holiday", required=True)
@click.option("--note", default="")
@click.pass_context
def calendar_set(ctx, day, workday, note):
    """调整某一天（如录入临时调整）。"""
    system = _system(ctx)
    with system.store.write() as session:
        admin.set_calendar_day(system, session, _date(day), workday, note, "cli")
    click.echo(f"{day} 已设为{'工作日' if workday else '休息日'}")


@calendar_group.command("load-year")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.pass_context
def calendar_load(ctx, file):
    """录入一年的放假安排，并重新计算按估算得出的期限（重新计算若被中断，再录入一次即补齐）。

    FILE 为 JSON：{"year": 2027, "source": "国办发明电〔2026〕N号", "holidays": [...], "workdays": [...]}。
    """
    schedule = _read_schedule(file)
    year, source = schedule["year"], schedule["source"]
    holidays = [date.fromisoformat(d) for d in schedule["holidays"]]
    workdays = [date.fromisoformat(d) for d in schedule["workdays"]]
    system = _system(ctx)
    with system.store.write() as session:
        admin.load_calendar_year(system, session, year, holidays, workdays, source, "cli")
    moved = instances.recompute_estimated_deadlines(system)
    click.echo(f"已录入 {year} 年放假安排：{len(holidays)} 天假日，{len(workdays)} 天调休上班；"
               f"{moved} 个按估算得出的期限已重新计算")


_SCHEDULE_FILE = forms.validator({
    "type": "object", "required": ["year", "source", "holidays", "workdays"], "additionalProperties": False,
    "properties": {
        "year": {"type": "integer", "title": "年份（year）"},
        "source": {"type": "string", "title": "依据（source）", "minLength": 1, "maxLength": 200},
        "holidays": {"type": "array", "title": "放假日期（holidays）",
                     "items": {"type": "string", "format": "date", "title": "放假日期"}},
        "workdays": {"type": "array", "title": "调休上班日期（workdays）",
                     "items": {"type": "string", "format": "date", "title": "调休上班日期"}}}})


def _read_schedule(path: str) -> dict:
    """The schedule file, checked field by field before anything is stored."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ValidationFailed("放假安排文件须为 UTF-8 编码的 JSON，未作任何改动") from None
    except json.JSONDecodeError as err:
        raise ValidationFailed(f"放假安排文件不是合法的 JSON（第 {err.lineno} 行第 {err.colno} 列），"
                               "未作任何改动") from None
    forms.validate(_SCHEDULE_FILE, document, what="放假安排文件")
    return document


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise click.ClickException(f"日期格式应为 YYYY-MM-DD：{text}") from None


@main.group("clock")
def clock_group():
    """系统时间（测试、演示模式可调）。"""


@clock_group.command("show")
@click.pass_context
def clock_show(ctx):
    system = _system(ctx)
    with system.store.read() as session:
        click.echo(isoformat(system.now(session)))


@clock_group.command("set")
@click.argument("moment")
@click.option("--running", is_flag=True, help="设定后时间继续走（默认冻结）")
@click.pass_context
def clock_set(ctx, moment, running):
    try:
        at = parse_moment(moment)
    except ValueError:
        raise click.ClickException("时间格式应为 ISO-8601，如 2026-11-23T09:00:00+08:00") from None
    system = _system(ctx)
    with system.store.write() as session:
        click.echo(isoformat(admin.set_clock(system, session, at, not running, "cli")))


@clock_group.command("advance")
@click.option("--days", default=0, type=int)
@click.option("--hours", default=0, type=int)
@click.pass_context
def clock_advance(ctx, days, hours):
    system = _system(ctx)
    with system.store.write() as session:
        click.echo(isoformat(admin.advance_clock(system, session, timedelta(days=days, hours=hours), "cli")))


@main.group("user")
def user_group():
    """账号。"""


@user_group.command("passwd")
@click.argument("person_id")
@click.password_option(prompt="新密码")
@click.pass_context
def user_passwd(ctx, person_id, password):
    system = _system(ctx)
    with system.store.write() as session:
        if system.organisation(session).person(person_id) is None:
            raise click.ClickException(f"组织机构中没有 {person_id}")
        auth.set_password(session, person_id, password)
    click.echo(f"{person_id} 的密码已更新")


@main.command()
@click.option("--profile", default="bazhou", type=click.Choice(profiles.PROFILE_IDS), help="示例组织所用的规则")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
def demo(profile, host, port):
    """演示：新建 SQLite 演示库，载入示例组织与 processes/ 下的流程，办好一周的工作，启动服务与 worker。"""
    system, org, made = prepare_demo(profile)
    threading.Thread(target=worker.run_forever, args=(system, 2.0), daemon=True).start()
    _print_logins(org, host, port)
    click.echo(f"数据库：{system.settings.database_url}"
               "（govflow 的其他命令在本目录下自动使用它，如 govflow clock show）")
    click.echo("在办的工作（事项：环节（办理人））：\n" + "\n".join(f"  - {line}" for line in made) + "\n")
    from .app import create_app
    create_app(system=system).run(host=host, port=port, threaded=True, use_reloader=False)


def prepare_demo(profile: str) -> tuple[Govflow, Organisation, list[str]]:
    """A new demo database under instance/, its organisation and diagrams, a week of work done, and
    the pointer the other commands read. Returns the system, the organisation and what is in flight."""
    path = (Path("instance") / f"demo-{profile}.db").resolve()
    path.parent.mkdir(exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    if not DEMO_SEAL_KEY.is_file():
        DEMO_SEAL_KEY.write_text(secrets.token_hex(32) + "\n", encoding="utf-8")
        DEMO_SEAL_KEY.chmod(0o600)
    shutil.rmtree(DEMO_ANCHORS, ignore_errors=True)     # the old demo's anchors name another database
    system = Govflow(Settings.from_env(database_url=url, mode="demo", **_demo_sealing()))
    system.store.migrate()
    org = Organisation.from_toml((system.settings.home / "orgs" / f"{profile}.toml").read_text(encoding="utf-8"))
    with system.store.write() as session:
        admin.load_organisation(system, session, org, "demo")
        now = system.now(session)
    for file in sorted(system.settings.processes_dir.glob("*.bpmn")):
        deploy_file(system, file.read_bytes(), file.name, "demo")
    made = demo_work.seed(system, now)
    DEMO_POINTER.write_text(url + "\n", encoding="utf-8")
    return system, org, made


def _print_logins(org: Organisation, host: str, port: int) -> None:
    titles = profiles.load(org.profile_id).titles
    click.echo(f"\ngovflow 演示：{org.name}（规则 {org.profile_id}）")
    click.echo(f"地址：http://{host}:{port}/\n演示账号（密码均为 demo）：")
    shown = set()
    for post, count in (("head", 1), ("executive_deputy", 1), ("deputy", 2), ("office_director", 1),
                        ("office_clerk", 2), ("dept_staff", 1)):
        for person in org.with_post(post)[:count]:
            label = titles.get(post) or org.departments[person.department].name
            roles = f"，{'、'.join(sorted(person.roles))}" if person.roles else ""
            click.echo(f"  {person.id:<16} {person.name}（{label}{roles}）")
            shown.add(person.id)
    for person in org.people.values():
        if person.roles & {"designer", "auditor"} and person.id not in shown:
            click.echo(f"  {person.id:<16} {person.name}（{'、'.join(sorted(person.roles))}）")
    click.echo("")


if __name__ == "__main__":
    main()
