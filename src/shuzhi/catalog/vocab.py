"""Controlled vocabularies, shipped as YAML data and seeded into the vocab_terms table."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from shuzhi.catalog.models import VocabTerm


@lru_cache(maxsize=1)
def shipped() -> dict[str, list[dict]]:
    text = resources.files("shuzhi.catalog").joinpath("vocabularies.yaml").read_text("utf-8")
    return yaml.safe_load(text)


def codes(vocab: str) -> list[str]:
    return [t["code"] for t in shipped()[vocab]]


def label(vocab: str, code: str | None, lang: str = "zh") -> str:
    if code is None:
        return ""
    for t in shipped().get(vocab, []):
        if t["code"] == code:
            return t[lang] if lang in ("zh", "en") else t["zh"]
    return code


def seed_vocabularies(session: Session) -> int:
    """Insert or refresh every shipped term; returns how many terms were new."""
    existing = {(t.vocab, t.code): t for t in session.scalars(select(VocabTerm))}
    added = 0
    for vocab, terms in shipped().items():
        for pos, t in enumerate(terms):
            row = existing.get((vocab, t["code"]))
            if row is None:
                row = VocabTerm(vocab=vocab, code=t["code"])
                session.add(row)
                added += 1
            row.label_zh, row.label_en, row.position, row.note = t["zh"], t["en"], pos, t.get("note")
    return added
