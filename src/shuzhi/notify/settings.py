"""The `[notify]` settings section: when reminders go out, and how e-mail is sent (SMTP or an outbox)."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr


class NotifySettings(BaseModel):
    deadline_warning_days: int = Field(default=2, ge=0)
    """Working days before a request's review deadline that its reviewers are reminded."""
    grant_expiry_days: int = Field(default=14, ge=0)
    """Days before a grant ends that its requester is told (and the home pages list it)."""
    scan_interval_s: float = Field(default=300.0, ge=0)
    """Seconds between the job that sends the time-based notifications (deadlines, expiring grants,
    new grading alerts); 0: never by itself."""
    mail_interval_s: float = Field(default=60.0, ge=0)
    """Seconds between the job that sends pending e-mail; 0: never by itself."""
    mail_attempts: int = Field(default=5, ge=1)
    """Attempts at one e-mail before it is given up as failed."""
    site_url: str | None = None
    """The site's address as readers reach it (`https://data.example.gov.cn`): e-mail links are made
    absolute with it; unset, they stay paths."""
    smtp_host: str | None = None
    """SMTP server; unset: e-mail is written to the outbox directory under `data_dir` instead."""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_from: str = "shuzhi@localhost"
    """The sender address of every e-mail."""
    smtp_starttls: bool = True
    """Upgrade the SMTP connection with STARTTLS before logging in and sending."""
    smtp_user: str | None = None
    """Log in as this user (with `smtp_password`); unset: send without logging in."""
    smtp_password: SecretStr | None = None
    """Give it in the environment (`SHUZHI_NOTIFY__SMTP_PASSWORD`), not in the settings file."""
    smtp_timeout_s: float = Field(default=30.0, gt=0)


SECTIONS = {"notify": NotifySettings}
