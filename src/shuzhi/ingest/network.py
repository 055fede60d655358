"""Which network addresses an ingest source may reach: names resolved, every address checked, connections made to what was checked."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass, field

from shuzhi.errors import Forbidden, SourceUnavailable
from shuzhi.i18n import M_, N_, Pair

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

SETTING = "ingest.allowed_source_hosts"
_HINT = N_("if this host is a genuine source, an admin can add it to the setting %(setting)s")


def _kind(ip: IPAddress) -> tuple[str, str] | None:
    """Why an address is not a public one a source may be fetched from (Chinese, English); None when it is."""
    if isinstance(ip, ipaddress.IPv6Address):
        # Addresses that carry an IPv4 address reach it: ::ffff:127.0.0.1 on the wire, and 6to4
        # (2002:0a00:0001::) or Teredo through a relay; each is judged as the address it carries.
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            return _kind(embedded)
    for name, zh, flag in (
        ("unspecified", "未指定地址", ip.is_unspecified),
        ("loopback", "本机回环地址", ip.is_loopback),
        ("link-local", "链路本地地址", ip.is_link_local),
        ("multicast", "组播地址", ip.is_multicast),
        ("private", "内网地址", ip.is_private),
        ("reserved", "保留地址", ip.is_reserved),
        ("non-public", "非公网地址", not ip.is_global),
    ):
        if flag:
            return zh, name
    return None


@dataclass(frozen=True)
class AddressPolicy:
    """Public addresses are allowed; others only for a host or network the deployment names.

    Entries of the setting are host names (``front.db.gov.internal``, or ``*.gov.internal`` for
    every name under it), IP addresses or networks (``10.20.0.0/16``). A named host is reached at
    whatever it resolves to; any other host only when every address it resolves to is public or
    inside a named network.
    """

    names: frozenset[str] = frozenset()
    suffixes: tuple[str, ...] = ()
    networks: tuple[IPNetwork, ...] = field(default_factory=tuple)

    @classmethod
    def of(cls, entries: list[str] | tuple[str, ...]) -> AddressPolicy:
        names, suffixes, networks = set(), [], []
        for raw in entries:
            entry = raw.strip().lower().rstrip(".")
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
                continue
            except ValueError:
                pass
            if entry.startswith("*."):
                suffixes.append(entry[1:])
            else:
                names.add(entry)
        return cls(frozenset(names), tuple(suffixes), tuple(networks))

    def _named(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        return host in self.names or any(host.endswith(s) for s in self.suffixes)

    def _in_networks(self, ip: IPAddress) -> bool:
        candidates = [ip]
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            candidates.append(ip.ipv4_mapped)
        return any(c in net for c in candidates for net in self.networks if c.version == net.version)

    def resolve(self, host: str, port: int, *, where: str) -> list[str]:
        """The addresses to connect to for `host`, each one allowed; refuses when any is not.

        Every address a name resolves to is checked, not only the first: a name answering with a
        public and a loopback address must not reach the loopback one on a retry.
        """
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise SourceUnavailable(
                M_("cannot resolve the host name %(host)s: %(exc)s", host=host, exc=exc),
                where=where,
                hint=M_("check the address and the server's DNS"),
            ) from exc
        found: list[IPAddress] = []
        for info in infos:
            ip = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
            if ip not in found:
                found.append(ip)
        if not self._named(host):
            for ip in found:
                why = None if self._in_networks(ip) else _kind(ip)
                if why is not None:
                    raise Forbidden(
                        M_(
                            "source host %(host)s resolves to the %(kind)s address %(ip)s, which ingest may not reach",
                            host=host,
                            kind=Pair(*why),
                            ip=ip,
                        ),
                        where=where,
                        hint=M_(_HINT, setting=SETTING),
                    )
        return [str(ip) for ip in found]
