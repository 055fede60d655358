"""REST endpoints of the notification centre: the caller's own notifications, marking them read."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from shuzhi.notify import service
from shuzhi.orgs.service import Principal
from shuzhi.textlimits import Id
from shuzhi.web.deps import WRITE, current_principal, read_session

router = APIRouter(tags=["notifications 通知"])


@router.get("/notifications")
def list_notifications(
    unread: bool = False,
    before_id: Id | None = None,
    limit: int = Query(20, ge=1, le=service.MAX_PAGE),
    session: Session = Depends(read_session),
    principal: Principal = Depends(current_principal),
) -> dict:
    """The caller's notifications, newest first (only unread ones with unread=true); page on with
    before_id = next_before_id. `unread_count` counts all the caller's unread ones."""
    if principal.user_id is None:
        return {"notifications": [], "unread_count": 0, "next_before_id": None}
    rows = service.page(session, principal.user_id, before_id=before_id, limit=limit, unread_only=unread)
    return {
        "notifications": [service.as_dict(n) for n in rows],
        "unread_count": service.unread_count(session, principal.user_id),
        "next_before_id": rows[-1].id if len(rows) == limit else None,
    }


@router.post("/notifications/{notification_id}/read")
def read_notification(
    notification_id: Id,
    session: Session = WRITE,
    principal: Principal = Depends(current_principal),
) -> dict:
    """Mark one of the caller's notifications read (again: no change); another user's is 404."""
    n = service.mark_read(session, principal.user_id, notification_id)
    session.flush()
    return service.as_dict(n)


@router.post("/notifications/read-all")
def read_all(session: Session = WRITE, principal: Principal = Depends(current_principal)) -> dict:
    """Mark every one of the caller's notifications read; says how many were unread."""
    n = service.mark_all_read(session, principal.user_id) if principal.user_id is not None else 0
    return {"marked": n}
