"""The pages' header: the links each domain offers the viewer (hook `menu_links`), grouped into menus."""

from __future__ import annotations

from dataclasses import dataclass, field

from shuzhi.hooks import MenuLink, collect
from shuzhi.i18n import N_

MENUS = {"sharing": N_("Sharing"), "supervision": N_("Supervision")}
"""The header's menus; a link naming another menu stands on its own."""


@dataclass
class Menu:
    key: str
    label: str
    links: list[MenuLink] = field(default_factory=list)


def header_links(principal) -> list[MenuLink | Menu]:
    """The header's links and menus for `principal`, in order; a menu holding one link is that link."""
    if principal is None:
        return []
    items: list[MenuLink | Menu] = []
    menus: dict[str, Menu] = {}
    for link in sorted(collect("menu_links", principal=principal), key=lambda x: x.order):
        if link.menu not in MENUS:
            items.append(link)
            continue
        if link.menu not in menus:
            menus[link.menu] = Menu(link.menu, MENUS[link.menu])
            items.append(menus[link.menu])
        menus[link.menu].links.append(link)
    return [x.links[0] if isinstance(x, Menu) and len(x.links) == 1 else x for x in items]
