"""How the worker reaches the outside: SMTP, the base URL mail links point to, webhook timing.
Read from the environment (STAGEGATE_SMTP_HOST ...); tests build their own."""
from __future__ import annotations

import os
from dataclasses import dataclass

from engine.errors import StagegateError

SECURITIES = ("none", "starttls", "tls")


class SettingsInvalid(StagegateError):
    """An integration setting in the environment cannot be used (named in the message)."""


@dataclass
class IntegrationSettings:
    smtp_host: str | None = None  # None: mail is kept as a log (the demo's mail page), not sent
    smtp_port: int = 25
    smtp_security: str = "none"  # none | starttls | tls (SMTPS)
    smtp_user: str | None = None
    smtp_password: str | None = None
    mail_from: str = "Stagegate <stagegate@localhost>"
    smtp_timeout: float = 10.0
    base_url: str = "http://127.0.0.1:8000"
    digest_hour: int = 7  # UTC hour from which each day's digest goes out
    sla_warning_hours: float = 24.0  # mail this long before a task's due time
    webhook_timeout: float = 10.0
    webhook_first_retry: float = 10.0  # seconds; doubles each attempt
    webhook_max_retry: float = 3600.0
    webhook_give_up: float = 86400.0  # a delivery failing this long is dead

    @classmethod
    def from_env(cls, env=None) -> "IntegrationSettings":
        """Settings from STAGEGATE_* environment variables; a bad value is refused naming it."""
        env = os.environ if env is None else env
        s = cls()
        text = {"smtp_host": "STAGEGATE_SMTP_HOST", "smtp_user": "STAGEGATE_SMTP_USER",
                "smtp_password": "STAGEGATE_SMTP_PASSWORD", "mail_from": "STAGEGATE_MAIL_FROM",
                "base_url": "STAGEGATE_BASE_URL", "smtp_security": "STAGEGATE_SMTP_SECURITY"}
        for attr, name in text.items():
            if env.get(name):
                setattr(s, attr, env[name])
        numbers = {"smtp_port": ("STAGEGATE_SMTP_PORT", int), "digest_hour": ("STAGEGATE_DIGEST_HOUR", int),
                   "sla_warning_hours": ("STAGEGATE_SLA_WARNING_HOURS", float),
                   "webhook_timeout": ("STAGEGATE_WEBHOOK_TIMEOUT", float)}
        for attr, (name, kind) in numbers.items():
            if env.get(name):
                try:
                    setattr(s, attr, kind(env[name]))
                except ValueError:
                    raise SettingsInvalid(f"{name} must be a number, not {env[name]!r}") from None
        if s.smtp_security not in SECURITIES:
            raise SettingsInvalid(f"STAGEGATE_SMTP_SECURITY must be one of {', '.join(SECURITIES)}")
        if "STAGEGATE_SMTP_PORT" not in env:
            s.smtp_port = {"tls": 465, "starttls": 587}.get(s.smtp_security, 25)
        return s

    def shown(self) -> dict:
        """The settings for the status page: never the password."""
        return {"smtp_host": self.smtp_host, "smtp_port": self.smtp_port, "smtp_security": self.smtp_security,
                "smtp_user": self.smtp_user, "password_set": bool(self.smtp_password), "mail_from": self.mail_from,
                "base_url": self.base_url, "digest_hour": self.digest_hour}
