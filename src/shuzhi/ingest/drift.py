"""Schema drift between consecutive versions: columns added, removed or given another type."""

from __future__ import annotations

from shuzhi.i18n import M_, Message, Pair, joined


def schema_drift(previous: list[dict] | None, current: list[dict]) -> dict | None:
    """None for a first version; otherwise the three lists, empty when nothing moved."""
    if previous is None:
        return None
    old = {c["name"]: c["type"] for c in previous}
    new = {c["name"]: c["type"] for c in current}
    return {
        "added": [n for n in new if n not in old],
        "removed": [n for n in old if n not in new],
        "retyped": [{"name": n, "from": old[n], "to": new[n]} for n in new if n in old and old[n] != new[n]],
    }


def has_drift(drift: dict | None) -> bool:
    return bool(drift and (drift["added"] or drift["removed"] or drift["retyped"]))


def describe(drift: dict | None) -> Message | Pair:
    """One line for people, in either language."""
    if not has_drift(drift):
        return M_("no schema change")
    parts = []
    if drift["added"]:
        parts.append(M_("added: %(names)s", names=", ".join(drift["added"])))
    if drift["removed"]:
        parts.append(M_("removed: %(names)s", names=", ".join(drift["removed"])))
    if drift["retyped"]:
        retyped = ", ".join(f"{r['name']} {r['from']}→{r['to']}" for r in drift["retyped"])
        parts.append(M_("retyped: %(names)s", names=retyped))
    return joined(parts)
