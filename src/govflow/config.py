"""Settings, from the environment (GOVFLOW_*) with defaults for one machine."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from .errors import ValidationFailed

MODES = ("production", "demo", "test")
MIN_SEAL_KEY_BYTES = 32
FILE_TYPES = ("docx", "doc", "wps", "pdf", "ofd", "xlsx", "jpg", "png", "zip")


@dataclass(frozen=True)
class Settings:
    database_url: str
    mode: str = "production"
    home: Path = Path(".")            # where processes/, forms/ and orgs/ are
    secret_key: str = ""
    token_hours: int = 12
    # diagram code runs in worker processes: the address space of each, one step's wall clock for its
    # scripts and expressions together, how many run at once
    script_memory_mb: int = 512
    script_seconds: float = 3.0
    script_workers: int = 4
    # the event log's seal: an HMAC key kept outside the database (a file, or the environment), so
    # that whoever can write the database cannot append, cut or rewrite events unnoticed
    seal_key_file: str = ""
    seal_key_env: str = ""
    # anchors the worker writes on its own: where, and how often (minutes); none when no directory
    anchor_dir: str = ""
    anchor_minutes: float = 60.0
    # 正文 and 附件: the largest file taken (MB), the types taken (by what their bytes are), and where
    # their bytes go — the database (None: backups carry them) or a directory shared by the app servers
    files_max_mb: int = 7         # with its form, within the 8 MB of a request body
    files_types: tuple[str, ...] = FILE_TYPES
    files_dir: Path | None = None
    archive_retention: str = ""       # 保管期限 written into each archive package (永久, 30年, 10年: the unit's rule)
    # notifications sent out (work/delivery.py): the SMTP server ("host:port"), the sender, the address
    # links in messages start with, each channel's time limit in seconds
    smtp: str = ""
    mail_from: str = "govflow@localhost"
    base_url: str = "http://localhost:5000"
    notify_timeout: float = 5.0
    # session cookies: always Secure (served over HTTPS), and how many reverse proxies in front may be
    # believed about the scheme (X-Forwarded-Proto); 0 believes no such header
    secure_cookies: bool = False
    trusted_proxies: int = 0

    def seal_key(self) -> bytes | None:
        """The sealing key, or None when none is configured. A named file that is missing, unreadable
        or shorter than 32 bytes is refused: a weak or absent key must not pass for sealing."""
        if self.seal_key_env:
            key = self.seal_key_env.encode("utf-8")
            where = "GOVFLOW_SEAL_KEY"
        elif self.seal_key_file:
            where = f"GOVFLOW_SEAL_KEY_FILE（{self.seal_key_file}）"
            try:
                key = Path(self.seal_key_file).read_bytes().strip()
            except OSError as err:
                raise ValidationFailed(f"封签密钥文件不能读取：{where}：{err.strerror}",
                                       [{"field": "GOVFLOW_SEAL_KEY_FILE", "reason": str(err.strerror)}]) from None
        else:
            return None
        if len(key) < MIN_SEAL_KEY_BYTES:
            raise ValidationFailed(f"封签密钥过短：{where} 只有 {len(key)} 字节，至少须 {MIN_SEAL_KEY_BYTES} 字节",
                                   [{"field": where, "reason": "too short"}])
        return key

    def check_sealing(self) -> None:
        """Production refuses to run without a sealing key: without one, a database administrator
        can append or cut events and recompute the chain unnoticed."""
        if self.seal_key() is None:
            raise ValidationFailed("生产模式须配置事件封签密钥（GOVFLOW_SEAL_KEY_FILE 指向数据库之外的密钥文件），"
                                   "否则能写数据库的人可以追加、截断或改写事件而不被发现；拒绝启动",
                                   [{"field": "GOVFLOW_SEAL_KEY_FILE", "reason": "missing"}])

    @property
    def forms_dir(self) -> Path:
        return self.home / "forms"

    @property
    def processes_dir(self) -> Path:
        return self.home / "processes"

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        env = os.environ
        values = {
            "database_url": env.get("GOVFLOW_DATABASE_URL", "sqlite:///instance/govflow.db"),
            "mode": env.get("GOVFLOW_MODE", "production"),
            "home": Path(env.get("GOVFLOW_HOME", ".")),
            "secret_key": env.get("GOVFLOW_SECRET_KEY") or secrets.token_hex(32),
            "token_hours": int(env.get("GOVFLOW_TOKEN_HOURS", "12")),
            "script_memory_mb": int(env.get("GOVFLOW_SCRIPT_MEMORY_MB", "512")),
            "script_seconds": float(env.get("GOVFLOW_SCRIPT_SECONDS", "3")),
            "script_workers": int(env.get("GOVFLOW_SCRIPT_WORKERS", "4")),
            "seal_key_file": env.get("GOVFLOW_SEAL_KEY_FILE", ""),
            "seal_key_env": env.get("GOVFLOW_SEAL_KEY", ""),
            "anchor_dir": env.get("GOVFLOW_ANCHOR_DIR", ""),
            "anchor_minutes": float(env.get("GOVFLOW_ANCHOR_MINUTES", "60")),
            "files_max_mb": int(env.get("GOVFLOW_FILES_MAX_MB", "7")),
            "files_types": tuple(t.strip().lower().lstrip(".") for t in
                                 env.get("GOVFLOW_FILES_TYPES", ",".join(FILE_TYPES)).split(",") if t.strip()),
            "files_dir": Path(env["GOVFLOW_FILES_DIR"]) if env.get("GOVFLOW_FILES_DIR") else None,
            "archive_retention": env.get("GOVFLOW_ARCHIVE_RETENTION", ""),
            "smtp": env.get("GOVFLOW_SMTP", ""),
            "mail_from": env.get("GOVFLOW_MAIL_FROM", "govflow@localhost"),
            "base_url": env.get("GOVFLOW_BASE_URL", "http://localhost:5000"),
            "notify_timeout": float(env.get("GOVFLOW_NOTIFY_TIMEOUT", "5")),
            "secure_cookies": env.get("GOVFLOW_SECURE_COOKIES", "").lower() in ("1", "true", "yes"),
            "trusted_proxies": int(env.get("GOVFLOW_TRUSTED_PROXIES", "0")),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        if values["mode"] not in MODES:
            raise ValidationFailed(f"GOVFLOW_MODE 须为 {'、'.join(MODES)} 之一", [{"field": "GOVFLOW_MODE",
                                                                               "reason": values["mode"]}])
        values["home"] = Path(values["home"]).resolve()
        unknown = [t for t in values["files_types"] if t not in FILE_TYPES]
        if unknown:
            raise ValidationFailed(f"GOVFLOW_FILES_TYPES 只能取 {'、'.join(FILE_TYPES)}", [
                {"field": "GOVFLOW_FILES_TYPES", "reason": "、".join(unknown)}])
        return cls(**values)
