"""Upload endpoint: a new dataset version from a streamed file upload or a source URL."""

from __future__ import annotations

import json

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from shuzhi.catalog import service as catalog
from shuzhi.errors import InvalidInput
from shuzhi.i18n import M_
from shuzhi.ingest import commit_to, stage_source
from shuzhi.ingest.fetch import LimitedWriter, too_large
from shuzhi.ingest.formats import SourceRef, classify_source
from shuzhi.orgs.service import Principal
from shuzhi.storage import StagingArea, version_store
from shuzhi.store.db import Database
from shuzhi.textlimits import Code, Name, Sql, Url
from shuzhi.web.deps import current_principal, get_db

router = APIRouter(tags=["ingest 数据汇聚"])

MAX_JSON_BODY = 64 * 1024
MAX_FORM_FIELD = 16 * 1024
UPLOAD_PIECE = 1024 * 1024


class SourceIn(BaseModel):
    """A source the server fetches itself: an http(s) URL, or a database URL with a table or query."""

    source: Url = Field(
        description="http(s):// URL, or a database server URL (postgresql+psycopg://…); never a server file "
        "or SQLite (docs/ingest.md)"
    )
    format: Code | None = Field(
        None, description="csv | xlsx | json | jsonl | parquet (guessed when omitted)"
    )
    table: Name | None = Field(None, description="Database table, or the worksheet of an Excel file")
    query: Sql | None = Field(None, description="One SELECT run read-only on the database (instead of table)")


def _check_dataset(db: Database, principal: Principal, ref: str):
    with db.read() as session:
        ds = catalog.get_dataset(session, ref)
        catalog.require_manage(principal, ds)
        return ds.id


class _Upload:
    """Callbacks for the streaming multipart parser: the `file` part goes straight to disk."""

    def __init__(self, ws: StagingArea, limit: int):
        self.ws, self.limit = ws, limit
        self.fields: dict[str, str] = {}
        self.filename: str | None = None
        self.size = 0
        self._out: LimitedWriter | None = None
        self._buf: bytearray | None = None
        self._name = ""
        self._headers: dict[str, str] = {}
        self._hf = self._hv = b""

    def callbacks(self) -> dict:
        return {
            "on_part_begin": self._begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_done,
            "on_part_data": self._data,
            "on_part_end": self._end,
        }

    def _begin(self):
        self._headers, self._out, self._buf = {}, None, None

    def _header_field(self, data, start, end):
        self._hf += data[start:end]

    def _header_value(self, data, start, end):
        self._hv += data[start:end]

    def _header_end(self):
        # Kept as latin-1 so the header parser gets the raw bytes back; names are UTF-8 below.
        self._headers[self._hf.decode("latin-1").lower()] = self._hv.decode("latin-1")
        self._hf = self._hv = b""

    def _headers_done(self):
        from python_multipart.multipart import parse_options_header

        _, params = parse_options_header(self._headers.get("content-disposition", ""))
        self._name = params.get(b"name", b"").decode("utf-8", errors="replace")
        filename = params.get(b"filename")
        if self._name == "file" and filename is not None:
            if self.filename is not None:
                raise InvalidInput(M_("upload one file per request"), where="file")
            self.filename = filename.decode("utf-8", errors="replace") or "upload"
            self._out = LimitedWriter(self.ws.path("upload"), self.filename, self.limit)
        else:
            self._buf = bytearray()

    def _data(self, data, start, end):
        if self._out is not None:
            self._out.write(data[start:end])
        elif self._buf is not None:
            self._buf += data[start:end]
            if len(self._buf) > MAX_FORM_FIELD:
                raise InvalidInput(M_("form field %(name)r too long", name=self._name), where=self._name)

    def _end(self):
        if self._out is not None:
            self.size = self._out.finish()
            self._out = None
        elif self._buf is not None:
            self.fields[self._name] = self._buf.decode("utf-8", errors="replace").strip()

    def abort(self):
        if self._out is not None:
            self._out.abort()


async def _receive_upload(request: Request, ws: StagingArea, limit: int) -> _Upload:
    from python_multipart.multipart import MultipartParser, parse_options_header

    _, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if not boundary:
        raise InvalidInput(M_("multipart request without boundary"), where="body")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + MAX_JSON_BODY:
        raise too_large("upload", limit)  # refuse before reading a byte
    upload = _Upload(ws, limit)
    parser = MultipartParser(boundary, upload.callbacks())
    try:
        # The file part is written to disk off the event loop, in pieces of about a mebibyte.
        pending = bytearray()
        async for chunk in request.stream():
            pending += chunk
            if len(pending) >= UPLOAD_PIECE:
                await run_in_threadpool(parser.write, bytes(pending))
                pending.clear()
        await run_in_threadpool(parser.write, bytes(pending))
        await run_in_threadpool(parser.finalize)
    except BaseException:
        upload.abort()
        raise
    if upload.filename is None:
        raise InvalidInput(
            M_("no file in the upload: send it as form field 'file'"),
            where="file",
            hint=M_("for example: %(example)s", example="curl -F file=@data.csv …"),
        )
    return upload


async def _json_source(request: Request) -> tuple[SourceIn, SourceRef]:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_JSON_BODY:
            raise InvalidInput(M_("JSON body too large"), where="body")
    try:
        src = SourceIn.model_validate(json.loads(body or b"{}"))
    except (ValueError, TypeError, RecursionError) as exc:
        raise InvalidInput(
            M_("invalid JSON body: %(exc)s", exc=exc),
            where="body",
            hint=M_("for example: %(example)s", example='{"source": "https://…/data.csv"}'),
        ) from exc
    # Classified once, as a remote caller's: the SourceRef is what is opened, not the text again.
    return src, classify_source(src.source, local=False)


@router.post(
    "/datasets/{ref}/versions",
    status_code=201,
    responses={
        200: {"description": "内容与已有版本相同，未重复存储 (unchanged: identical to an existing version)"},
        201: {"description": "新版本已创建 (new version created)"},
    },
)
async def create_version(
    ref: str,
    request: Request,
    principal: Principal = Depends(current_principal),
    db: Database = Depends(get_db),
):
    """Load a new version of a dataset (owner department's steward or an admin).

    Send either a multipart upload (`file`, optional form fields `format`, `table` for the worksheet)
    or a JSON body naming a source: `{"source": "https://…/x.csv"}` or
    `{"source": "postgresql+psycopg://…", "table": "enterprises"}`. The upload is streamed to disk
    and refused as soon as it passes the size limit.

    Example: `curl -H "Authorization: Bearer $T" -F file=@企业登记.csv …/api/v1/datasets/SCJG-QY-001/versions`
    """
    settings = request.app.state.settings
    dataset_id = await run_in_threadpool(_check_dataset, db, principal, ref)
    ctype = request.headers.get("content-type", "")
    ws = await run_in_threadpool(version_store(settings).staging)
    try:
        if ctype.startswith("multipart/form-data"):
            upload = await _receive_upload(request, ws, settings.ingest.max_upload_bytes)
            args = dict(
                source=ws.path("upload"),
                name=upload.filename,
                fmt=upload.fields.get("format") or None,
                table=upload.fields.get("table") or None,
            )
        elif ctype.startswith("application/json"):
            src, source = await _json_source(request)
            args = dict(source=source, fmt=src.format, table=src.table, query=src.query)
        else:
            raise InvalidInput(
                M_("send multipart/form-data or JSON"),
                where="content-type",
            )
        staged = await run_in_threadpool(lambda: stage_source(settings, **args))
    finally:
        await run_in_threadpool(ws.close)
    report = await run_in_threadpool(_commit, db, settings, dataset_id, staged, principal)
    return JSONResponse(report.to_dict(), status_code=200 if report.unchanged else 201)


def _commit(db: Database, settings, dataset_id: int, staged, principal: Principal):
    def target(session):
        ds = catalog.get_dataset(session, dataset_id)
        catalog.require_manage(principal, ds)  # again: the stewardship may have changed meanwhile
        return ds

    return commit_to(db, settings, staged, target, user_id=principal.user_id)
