"""Pages of the notification centre: the home page with each user's tasks, and the notifications list."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse

from shuzhi import textlimits as limits
from shuzhi.exchange.share_requests import STATE_LABELS
from shuzhi.i18n import N_
from shuzhi.notify import service, tasks
from shuzhi.orgs.service import Principal
from shuzhi.web import flash
from shuzhi.web.deps import get_db, optional_principal, page_principal
from shuzhi.web.templating import templates

router = APIRouter(include_in_schema=False)
PER_PAGE = 20


@router.get("/")
def home(request: Request, principal: Principal | None = Depends(optional_principal), db=Depends(get_db)):
    """Each user's tasks; the city-wide view for admins. Logged out: the login page."""
    if principal is None:
        return RedirectResponse("/login", status_code=303)
    with db.read() as s:
        data = tasks.home(s, request.app.state.settings, principal)
        request.state.unread_notifications = data.unread
        return templates.TemplateResponse(
            request,
            "home.html",
            {"home": data, "states": STATE_LABELS, "kinds": service.KINDS, "unread": data.unread},
        )


@router.get("/notifications")
def notifications_page(
    request: Request,
    before: int | None = Query(None, ge=1, le=limits.JSON_INT_MAX),
    principal: Principal = Depends(page_principal),
    db=Depends(get_db),
):
    """The user's notifications, newest first, unread marked; older ones a page at a time."""
    with db.read() as s:
        rows = (
            service.page(s, principal.user_id, before_id=before, limit=PER_PAGE) if principal.user_id else []
        )
        unread = service.unread_count(s, principal.user_id) if principal.user_id else 0
        request.state.unread_notifications = unread
        return templates.TemplateResponse(
            request,
            "notifications.html",
            {
                "rows": rows,
                "kinds": service.KINDS,
                "unread": unread,
                "older": rows[-1].id if len(rows) == PER_PAGE else None,
                "paged": before is not None,
            },
        )


@router.get("/notifications/{notification_id}")
def open_notification(
    notification_id: str, principal: Principal = Depends(page_principal), db=Depends(get_db)
):
    """Click-through: the notification is marked read and the reader sent where it points."""
    number = int(notification_id) if notification_id.isdigit() and len(notification_id) < 16 else 0
    with db.write() as s:
        n = service.mark_read(s, principal.user_id, number)
        target = (
            n.link if n.link and n.link.startswith("/") and not n.link.startswith("//") else "/notifications"
        )
    return RedirectResponse(target, status_code=303)


@router.post("/notifications/read-all")
def read_all(principal: Principal = Depends(page_principal), db=Depends(get_db)):
    with db.write() as s:
        n = service.mark_all_read(s, principal.user_id) if principal.user_id else 0
    return flash.redirect("/notifications", N_("Notifications marked read: %(n)s"), n=n)
