"""The `[auth]` settings section: lockouts after wrong passwords and session cookies."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class AuthSettings(BaseModel):
    max_failures_per_account: int = Field(default=5, ge=1)
    """Wrong passwords for one username within `failure_window_s` before it is locked out."""
    max_failures_per_address: int = Field(default=50, ge=1)
    """Wrong passwords from one client address (any usernames) within the window before it is locked out."""
    failure_window_s: float = Field(default=900, gt=0)
    """Seconds over which failures are counted; a quiet window also forgets earlier lockouts."""
    lockout_s: float = Field(default=60, gt=0)
    """Length of a first lockout; each further lockout doubles it."""
    max_lockout_s: float = Field(default=3600, gt=0)
    """Longest lockout; a steward of the user's department or an admin can lift one sooner."""
    secure_cookies: Literal["auto", "always", "never"] = "auto"
    """Session cookies marked Secure: 'auto' when the request came over https, or always, or never."""


SECTIONS = {"auth": AuthSettings}
