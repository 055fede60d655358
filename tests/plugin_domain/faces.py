"""The notes domain's API route, page and command."""

from __future__ import annotations

import typer
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.plugin_domain.events import NoteAdded
from tests.plugin_domain.models import Note

from shuzhi import ledger
from shuzhi.errors import InvalidInput
from shuzhi.orgs.service import Principal
from shuzhi.web.deps import WRITE, current_principal, read_session

api = APIRouter(tags=["notes"])
pages = APIRouter(include_in_schema=False)


class NoteIn(BaseModel):
    text: str


@api.post("/notes", status_code=201)
def add_note(
    body: NoteIn,
    request: Request,
    principal: Principal = Depends(current_principal),
    session: Session = WRITE,
) -> dict:
    limit = request.app.state.settings.notes.max_length
    if len(body.text) > limit:
        raise InvalidInput(f"笔记过长 (note longer than {limit})", where="text")
    note = Note(text=body.text)
    session.add(note)
    session.flush()
    ledger.append(session, NoteAdded(note=note.id), user_id=principal.user_id)
    return {"id": note.id, "text": note.text}


@api.get("/notes")
def list_notes(
    principal: Principal = Depends(current_principal), session: Session = Depends(read_session)
) -> list[str]:
    return list(session.scalars(select(Note.text).order_by(Note.id)))


@pages.get("/notes", response_class=HTMLResponse)
def notes_page() -> str:
    return "<!doctype html><title>Notes</title><h1>笔记 Notes</h1>"


def notes(text: str = typer.Argument("hello")) -> None:
    """Echo a note.

    Example:  shuzhi notes hello
    """
    typer.echo(f"note: {text}")
