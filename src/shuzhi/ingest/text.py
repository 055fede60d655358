"""Delimited text: encoding detection, streaming transcoding to UTF-8, header checks and locating bad lines."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from shuzhi.errors import InvalidInput
from shuzhi.i18n import M_, N_

HEAD_BYTES = 256 * 1024
CHUNK = 1 << 20
DELIMITERS = (",", "\t", ";", "|")
# Government files in China come as UTF-8 or GBK/GB18030 (GB18030 is a superset of GBK and GB2312,
# so we always decode with it); Big5 and UTF-16 show up from Taiwan/Hong Kong sources and Excel exports.
CANDIDATE_ENCODINGS = ["gb18030", "big5", "utf_16"]
HINT_ENCODING = N_("save the file as UTF-8")


@dataclass(frozen=True)
class TextLayout:
    encoding: str
    """'utf-8' (BOM or not) or the codec needed to transcode to UTF-8."""
    delimiter: str
    header: list[str]
    newline: str = "\n"
    """'\n' or '\r\n', from the end of the header line."""


def detect_encoding(head: bytes, name: str) -> str:
    """Encoding of a text file from its first bytes; charset-normalizer decides when it is not UTF-8."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf_16"
    if b"\x00" in head:
        raise InvalidInput(
            M_("not a text file: binary content"),
            where=name,
            hint=M_("check the file type; name it with --format"),
        )
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    # Cut at the last line end: a multi-byte character split by the sample would fail every codec.
    whole_lines = head[: head.rfind(b"\n") + 1] or head
    best = from_bytes(whole_lines, cp_isolation=CANDIDATE_ENCODINGS).best()
    if best is None:
        # Neither UTF-8 nor a known Chinese encoding: most often a UTF-8 file with a damaged byte,
        # so point at the first byte that breaks UTF-8.
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as err:
            raise undecodable(name, "utf-8", _line_of_error(0, head, err, "utf-8")) from err
    return "gb18030" if best.encoding in ("gb2312", "gbk", "gb18030") else best.encoding


def _line_of_error(decoded_before: int, chunk: bytes, err: UnicodeDecodeError, encoding: str) -> int:
    text = chunk[: err.start].decode(encoding, errors="replace")
    return decoded_before + text.count("\n") + 1


def transcode(
    src: Path, dest: Path, encoding: str, name: str, progress: Callable[[int, int | None], None] | None = None
) -> None:
    """Rewrite a text file as UTF-8, chunk by chunk; an undecodable byte is reported with its line."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    total, done, lines = src.stat().st_size, 0, 0
    with open(src, "rb") as fin, open(dest, "w", encoding="utf-8", newline="") as fout:
        while chunk := fin.read(CHUNK):
            try:
                text = decoder.decode(chunk)
            except UnicodeDecodeError as err:
                line = _line_of_error(lines, chunk, err, encoding)
                raise undecodable(name, encoding, line) from err
            fout.write(text.lstrip("\ufeff") if done == 0 else text)
            lines += text.count("\n")
            done += len(chunk)
            if progress:
                progress(done, total)
        try:
            fout.write(decoder.decode(b"", final=True))
        except UnicodeDecodeError as err:
            raise undecodable(name, encoding, lines + 1) from err


def undecodable(name: str, encoding: str, line: int | None) -> InvalidInput:
    where = f"{name}:{line}" if line else name
    return InvalidInput(
        M_("file is not valid %(encoding)s, line %(line)s", encoding=encoding, line=line)
        if line
        else M_("file is not valid %(encoding)s", encoding=encoding),
        where=where,
        line=line,
        hint=M_(HINT_ENCODING),
    )


def guess_delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in DELIMITERS}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def read_layout(head: bytes, name: str) -> TextLayout:
    """Encoding, delimiter and header of a delimited text file, from its first bytes."""
    if not head.strip(b"\xef\xbb\xbf \t\r\n"):
        raise empty_file(name)
    encoding = detect_encoding(head, name)
    text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(head).lstrip("\ufeff")
    first = text.split("\n", 1)[0]
    delimiter = guess_delimiter(first)
    try:
        header = next(csv.reader(io.StringIO(text), delimiter=delimiter, strict=True))
    except (csv.Error, StopIteration) as exc:
        raise InvalidInput(
            M_("cannot parse the header line: %(exc)s", exc=exc),
            where=f"{name}:1",
            line=1,
            hint=M_("check the quotes on the first line"),
        ) from exc
    check_header(header, name, line=1)
    newline = "\r\n" if first.endswith("\r") else "\n"
    return TextLayout(encoding, delimiter, header, newline)


def empty_file(name: str) -> InvalidInput:
    return InvalidInput(
        M_("the file is empty"),
        where=name,
        hint=M_("check the export and load it again"),
    )


def check_header(header: list, name: str, *, line: int | None = None) -> None:
    """Column names must be present and unique (case-insensitively: SQL folds case)."""
    at = f"{name}:{line}" if line else name
    seen: dict[str, int] = {}
    for col, raw in enumerate(header, start=1):
        label = "" if raw is None else str(raw).strip()
        if not label:
            raise InvalidInput(
                M_("column %(col)s has a blank header", col=col),
                where=at,
                line=line,
                column=col,
                hint=M_("give every column a name or remove empty columns"),
            )
        key = label.lower()
        if key in seen:
            raise InvalidInput(
                M_(
                    "duplicate header %(label)r: columns %(value)s and %(col)s",
                    label=label,
                    value=seen[key],
                    col=col,
                ),
                where=at,
                line=line,
                column=col,
                hint=M_("rename the duplicate column and load again"),
            )
        seen[key] = col


def locate_bad_row(path: Path, name: str, delimiter: str, n_fields: int) -> InvalidInput | None:
    """Scan a UTF-8 delimited file for the first record that breaks the format; None when all are well-formed."""
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f, delimiter=delimiter, strict=True)
        start = 1
        try:
            for row in reader:
                if row and len(row) != n_fields:
                    col = min(len(row), n_fields) + 1
                    return InvalidInput(
                        M_(
                            "line %(start)s has %(count)s fields, the header has %(n_fields)s",
                            start=start,
                            count=len(row),
                            n_fields=n_fields,
                        ),
                        where=f"{name}:{start}:{col}",
                        line=start,
                        column=col,
                        hint=M_("check delimiters and quotes; quote values that contain the delimiter"),
                    )
                start = reader.line_num + 1
        except csv.Error as exc:
            return InvalidInput(
                M_("badly quoted record starting at line %(start)s: %(exc)s", start=start, exc=exc),
                where=f"{name}:{start}",
                line=start,
                hint=M_("double any quote inside a value and close every quote"),
            )
        except UnicodeDecodeError:
            return undecodable(name, "utf-8", None)
    return None
