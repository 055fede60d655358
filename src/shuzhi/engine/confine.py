"""OS confinement of a query worker: no file written anywhere, no network, whatever SQL runs in it.

Two kernel mechanisms, both irreversible and open to unprivileged processes; a worker applies
every one the kernel offers. Landlock (Linux 5.13+) takes away, beneath every path, the rights
to write, truncate, create, remove, rename and link, and where the kernel has them TCP
connect/bind and signals to processes outside the worker. A seccomp filter (libseccomp, any
kernel since 3.17) refuses the system calls that would do the same: opening a file for writing,
creating, truncating, renaming, removing, linking, changing modes or owners, sockets, io_uring
(which would bypass the filter) and opening by handle. Reading stays allowed: which files a query
may read is then DuckDB's ``allowed_paths``, and only because no write can happen may a worker
let DuckDB read a version file directly (DuckDB's allowed paths are writable too, so unconfined
workers never get one).

Landlock binds only threads created after it, so `confine` must run while the process has one
thread: first thing in the worker, before DuckDB or pyarrow is imported. (The seccomp filter is
synchronised to every thread, but goes on at the same moment.)
"""

from __future__ import annotations

import ctypes
import errno
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


_confined: dict[str, int] = {}


def confined() -> dict[str, int]:
    """How this process confined itself: {'landlock': ABI, 'seccomp': 1}, empty when it did not."""
    return dict(_confined)


def confine(methods: tuple[str, ...] = ("landlock", "seccomp")) -> dict[str, int]:
    """Apply every confinement of `methods` the kernel offers; returns `confined()`."""
    if "landlock" in methods:
        abi = deny_writes_and_network()
        if abi:
            _confined["landlock"] = abi
    if "seccomp" in methods and seccomp_deny_writes_and_network():
        _confined["seccomp"] = 1
    return confined()


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
    return abi


_O_FLAGS_THAT_WRITE = (os.O_WRONLY, os.O_RDWR, os.O_CREAT, os.O_TRUNC)
# fmt: off
_PATH_CHANGES = (
    "creat", "truncate", "rename", "renameat", "renameat2", "unlink", "unlinkat", "mkdir", "mkdirat",
    "rmdir", "link", "linkat", "symlink", "symlinkat", "mknod", "mknodat", "chmod", "fchmodat",
    "fchmodat2", "chown", "lchown", "fchownat", "setxattr", "lsetxattr", "removexattr",
    "lremovexattr", "utime", "utimes", "utimensat", "futimesat", "name_to_handle_at",
    "open_by_handle_at", "socket", "ptrace", "process_vm_writev", "mount", "umount2", "chroot",
    # The same changes through a descriptor opened read-only, and leaving the worker's namespaces
    # or its program (nothing in a worker needs them).
    "fchmod", "fchown", "fsetxattr", "fremovexattr", "unshare", "setns", "execve", "execveat",
)
# fmt: on
_UNSUPPORTED = ("openat2", "io_uring_setup", "io_uring_enter", "io_uring_register")
"""openat2 hides its flags in a struct the filter cannot read, and io_uring performs file operations
without system calls the filter sees: both answer ENOSYS, and callers fall back to plain calls."""


class _ArgCmp(ctypes.Structure):
    _fields_ = [
        ("arg", ctypes.c_uint),
        ("op", ctypes.c_int),
        ("datum_a", ctypes.c_uint64),
        ("datum_b", ctypes.c_uint64),
    ]


_SCMP_ACT_ALLOW = 0x7FFF0000
_SCMP_CMP_MASKED_EQ = 7
_SCMP_FLTATR_CTL_TSYNC = 4


def _scmp_errno(code: int) -> int:
    return 0x00050000 | (code & 0xFFFF)


def _libseccomp() -> ctypes.CDLL | None:
    try:
        lib = ctypes.CDLL("libseccomp.so.2", use_errno=True)
    except OSError:
        return None
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_rule_add_array.argtypes = [
        ctypes.c_void_p,
        ctypes.c_uint32,
        ctypes.c_int,
        ctypes.c_uint,
        ctypes.POINTER(_ArgCmp),
    ]
    lib.seccomp_attr_set.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_uint32]
    lib.seccomp_load.argtypes = [ctypes.c_void_p]
    lib.seccomp_release.argtypes = [ctypes.c_void_p]
    return lib


def seccomp_deny_writes_and_network() -> bool:
    """Install the seccomp filter on every thread of this process; False when it cannot be done.

    Through libseccomp itself (present wherever systemd is), which knows each architecture's
    system call numbers; a call an architecture lacks (aarch64 has no open, creat, rename…)
    needs no rule."""
    lib = _libseccomp()
    if lib is None:
        return False
    ctx = lib.seccomp_init(_SCMP_ACT_ALLOW)
    if not ctx:
        return False
    try:
        rules: list[tuple[int, str, _ArgCmp | None]] = []
        deny = _scmp_errno(errno.EACCES)
        for syscall, flags_arg in (("open", 1), ("openat", 2)):
            for flag in _O_FLAGS_THAT_WRITE:
                rules.append((deny, syscall, _ArgCmp(flags_arg, _SCMP_CMP_MASKED_EQ, flag, flag)))
        rules += [(deny, syscall, None) for syscall in _PATH_CHANGES]
        rules += [(_scmp_errno(errno.ENOSYS), syscall, None) for syscall in _UNSUPPORTED]
        for action, syscall, cmp in rules:
            number = lib.seccomp_syscall_resolve_name(syscall.encode())
            if number < 0:
                continue
            args = ctypes.byref(cmp) if cmp is not None else None
            if lib.seccomp_rule_add_array(ctx, action, number, 1 if cmp is not None else 0, args) != 0:
                return False
        if lib.seccomp_attr_set(ctx, _SCMP_FLTATR_CTL_TSYNC, 1) != 0:
            return False
        return lib.seccomp_load(ctx) == 0
    finally:
        lib.seccomp_release(ctx)
