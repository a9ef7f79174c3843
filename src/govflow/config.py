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
    # session cookies: always Secure (served over HTTPS), and how many reverse proxies in front may be
    # believed about the scheme (X-Forwarded-Proto); 0 believes no such header
    secure_cookies: bool = False
    trusted_proxies: int = 0

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
            "secure_cookies": env.get("GOVFLOW_SECURE_COOKIES", "").lower() in ("1", "true", "yes"),
            "trusted_proxies": int(env.get("GOVFLOW_TRUSTED_PROXIES", "0")),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        if values["mode"] not in MODES:
            raise ValidationFailed(f"GOVFLOW_MODE 须为 {'、'.join(MODES)} 之一", [{"field": "GOVFLOW_MODE",
                                                                               "reason": values["mode"]}])
        values["home"] = Path(values["home"]).resolve()
        return cls(**values)
