"""Every setting and every hook is documented (a new one without docs fails here)."""

from pathlib import Path

from pydantic import BaseModel

from shuzhi.config import settings_class
from shuzhi.hooks import plugin_manager

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _setting_names(model: type[BaseModel]) -> list[str]:
    names = []
    for name, field in model.model_fields.items():
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            names += _setting_names(ann)
        else:
            names.append(name)
    return names


def test_every_setting_is_documented():
    text = (DOCS / "settings.md").read_text("utf-8")
    missing = [n for n in _setting_names(settings_class()) if f"`{n}`" not in text]
    assert missing == []


def test_every_hook_is_documented():
    text = (DOCS / "plugins.md").read_text("utf-8")
    hooks = [name for name in dir(plugin_manager().hook) if not name.startswith("_")]
    assert hooks
    missing = [h for h in hooks if f"`{h}(" not in text and f"`{h}`" not in text]
    assert missing == []
