"""Settings, from the environment (GOVFLOW_*) with defaults for one machine."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from .errors import ValidationFailed

MODES = ("production", "demo", "test")


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
    # notifications sent out (work/delivery.py): the SMTP server ("host:port"), the sender, the address
    # links in messages start with, each channel's time limit in seconds
    smtp: str = ""
    mail_from: str = "govflow@localhost"
    base_url: str = "http://localhost:5000"
    notify_timeout: float = 5.0

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
            "smtp": env.get("GOVFLOW_SMTP", ""),
            "mail_from": env.get("GOVFLOW_MAIL_FROM", "govflow@localhost"),
            "base_url": env.get("GOVFLOW_BASE_URL", "http://localhost:5000"),
            "notify_timeout": float(env.get("GOVFLOW_NOTIFY_TIMEOUT", "5")),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        if values["mode"] not in MODES:
            raise ValidationFailed(f"GOVFLOW_MODE 须为 {'、'.join(MODES)} 之一", [{"field": "GOVFLOW_MODE",
                                                                               "reason": values["mode"]}])
        values["home"] = Path(values["home"]).resolve()
        return cls(**values)
