"""The audit events of conditional open data's applicants: portal accounts, their logins, and each step of an application."""

from __future__ import annotations

from shuzhi.ledger.events import Event, event


@event("opendata.portal_user_registered", "门户用户注册", "portal user registered")
class PortalUserRegistered(Event):
    portal_user_id: int
    email: str
    organisation: str
    password_digest: str


@event("opendata.portal_login", "门户用户登录", "portal user logged in")
class PortalLogin(Event):
    portal_user_id: int
    portal_session: int
    expires_at: str
    hash_digest: str


@event("opendata.portal_login_failed", "门户用户登录失败", "portal user login failed")
class PortalLoginFailed(Event):
    email: str
    address: str | None


@event("opendata.portal_logout", "门户用户退出", "portal user logged out")
class PortalLogout(Event):
    portal_user_id: int
    portal_session: int


@event("opendata.application_submitted", "有条件开放数据申请提交", "open-data application submitted")
class ApplicationSubmitted(Event):
    application_id: int
    dataset: str
    portal_user_id: int
    purpose: str
    organisation: str
    start: str
    end: str
    terms_version: str
    terms_sha256: str


@event("opendata.application_approved", "有条件开放数据申请批准", "open-data application approved")
class ApplicationApproved(Event):
    application_id: int
    dataset: str
    portal_user_id: int
    start: str
    end: str
    """The period granted (the requested one, or shorter)."""
    reason: str | None


@event("opendata.application_rejected", "有条件开放数据申请驳回", "open-data application rejected")
class ApplicationRejected(Event):
    application_id: int
    dataset: str
    portal_user_id: int
    reason: str


@event("opendata.application_revoked", "有条件开放数据申请撤销", "open-data application revoked")
class ApplicationRevoked(Event):
    application_id: int
    dataset: str
    portal_user_id: int
    reason: str


EVENTS = (
    PortalUserRegistered,
    PortalLogin,
    PortalLoginFailed,
    PortalLogout,
    ApplicationSubmitted,
    ApplicationApproved,
    ApplicationRejected,
    ApplicationRevoked,
)
