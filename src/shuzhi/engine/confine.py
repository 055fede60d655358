"""OS confinement of a query worker with Landlock: no file written anywhere, no TCP, no signals out.

Landlock (Linux 5.13+) lets an unprivileged process give up rights for itself and its future
threads and children; nothing can give them back. A worker that runs consumer SQL gives up
every way to change the filesystem (write, truncate, create, remove, rename, link) and, where
the kernel has them, TCP connect/bind and signals to processes outside itself. Reading stays
allowed: which files a query may read is then DuckDB's ``allowed_paths``, and only because no
write can happen may a worker let DuckDB read a version file directly (DuckDB's allowed paths
are writable too, so unconfined workers never get one).

The rules bind only threads created after them, so this must run while the process has one
thread: first thing in the worker, before DuckDB or pyarrow is imported.
"""

from __future__ import annotations

import ctypes
import os

# Syscall numbers are the same on every architecture (asm-generic).
_CREATE_RULESET, _RESTRICT_SELF = 444, 446
_CREATE_RULESET_VERSION = 1 << 0
_PR_SET_NO_NEW_PRIVS = 38

_FS_WRITE_FILE = 1 << 1
_FS_REMOVE_DIR = 1 << 4
_FS_REMOVE_FILE = 1 << 5
_FS_MAKE = sum(1 << bit for bit in range(6, 13))  # char, dir, reg, sock, fifo, block, sym
_FS_REFER = 1 << 13  # ABI 2: link or rename across directories
_FS_TRUNCATE = 1 << 14  # ABI 3
_NET_BIND_TCP, _NET_CONNECT_TCP = 1 << 0, 1 << 1  # ABI 4
_SCOPE_ABSTRACT_UNIX, _SCOPE_SIGNAL = 1 << 0, 1 << 1  # ABI 6


_confined_abi = 0


def confined() -> int:
    """The Landlock ABI this process confined itself with, 0 when it is not confined."""
    return _confined_abi


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def landlock_abi() -> int:
    """The kernel's Landlock ABI version; 0 when the kernel has none or it is disabled."""
    try:
        abi = _libc().syscall(
            _CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(_CREATE_RULESET_VERSION)
        )
    except (OSError, AttributeError):
        return 0
    return max(abi, 0)


def _threads() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return 0


def deny_writes_and_network() -> int:
    """Confine this process for good; returns the Landlock ABI used, or 0 when it could not be done.

    Nothing is confined unless everything asked for is: a partial rule set would be a false promise.
    """
    abi = landlock_abi()
    if abi < 1 or _threads() != 1:
        return 0
    fs = _FS_WRITE_FILE | _FS_REMOVE_DIR | _FS_REMOVE_FILE | _FS_MAKE
    if abi >= 2:
        fs |= _FS_REFER
    if abi >= 3:
        fs |= _FS_TRUNCATE
    attr = _RulesetAttr(
        handled_access_fs=fs,
        handled_access_net=(_NET_BIND_TCP | _NET_CONNECT_TCP) if abi >= 4 else 0,
        scoped=(_SCOPE_ABSTRACT_UNIX | _SCOPE_SIGNAL) if abi >= 6 else 0,
    )
    size = 24 if abi >= 6 else 16 if abi >= 4 else 8  # the struct grew with the ABI
    libc = _libc()
    fd = libc.syscall(_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if fd < 0:
        return 0
    try:
        # No rules are added: every handled right is denied beneath every path.
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            return 0
        if libc.syscall(_RESTRICT_SELF, ctypes.c_int(fd), ctypes.c_uint32(0)) != 0:
            return 0
    finally:
        os.close(fd)
    global _confined_abi
    _confined_abi = abi
    return abi
