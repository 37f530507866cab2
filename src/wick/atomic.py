"""Atomic file writes: the one way wick writes a file.

A writer gets a temporary file in the destination's folder, named after the destination, the
writing process and its machine (``.model.safetensors.wick-tmp-<pid>-<host>-<random>``); when
the block succeeds the data is flushed to disk and the temporary file is renamed over the
destination, so a reader sees the old file or the new one, never half of one. On any exception (Ctrl-C included) the temporary
file is removed and the destination is untouched. A writer killed outright (``kill -9``, power
loss) cannot clean up: its temporary file is removed by the next save or load of the same path
on the same machine, once its process is gone.

>>> import os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "notes.txt")
>>> with open_atomic(path, "w", encoding="utf-8") as f:
...     _ = f.write("hello")
>>> open(path, encoding="utf-8").read()
'hello'
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import secrets
import stat
import threading

TAG = ".wick-tmp-"
_NAME_BYTES = 120  # longer names are hashed, so the temporary name stays under NAME_MAX (255)

_active: set = set()  # temporary files this process is writing now
_lock = threading.Lock()


def destination(path) -> str:
    """The file a write to ``path`` replaces: absolute, symlinks followed (a link keeps pointing
    at the new data, as with ``open(path, "w")``)."""
    return os.path.realpath(os.fspath(path))


def _stem(name: str) -> str:
    if len(os.fsencode(name)) <= _NAME_BYTES:
        return name
    return hashlib.sha256(os.fsencode(name)).hexdigest()[:24]


def temp_prefix(path) -> str:
    """The name every temporary file of ``path`` starts with (without its folder)."""
    return f".{_stem(os.path.basename(destination(path)))}{TAG}"


def _alive(pid: int) -> bool:
    """Whether process ``pid`` may still be running (unknown counts as running)."""
    if os.name == "nt":
        return _alive_windows(pid)
    try:
        os.kill(pid, 0)  # signal 0: existence check only
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists, owned by someone else
        return True
    return True


def _alive_windows(pid: int) -> bool:
    import ctypes  # Windows: os.kill(pid, 0) would terminate the process

    kernel32 = ctypes.windll.kernel32
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return ctypes.GetLastError() == 5  # access denied: it exists
    try:
        code = ctypes.c_ulong()
        ok = kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        return not ok or code.value == 259  # STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)


def host() -> str:
    """This machine, in 8 hex digits: a pid means something only on the machine that ran it."""
    global _HOST
    if _HOST is None:
        if hasattr(os, "uname"):
            name = os.uname().nodename
        else:
            import socket

            name = socket.gethostname()
        _HOST = hashlib.sha256(name.encode("utf-8", "replace")).hexdigest()[:8]
    return _HOST


_HOST = None


def _stale(entry: str, prefix: str) -> bool:
    parts = entry[len(prefix) :].split("-")
    if len(parts) != 3 or not parts[0].isdigit() or parts[1] != host():
        return False  # not ours to judge: another machine's writer (a shared folder), or unknown
    pid = int(parts[0])
    if pid == os.getpid():  # ours: stale unless a write of this process is using it
        return entry not in _active
    return not _alive(pid)


def clean_stale(path) -> list:
    """Removes the temporary files of ``path`` whose writing process is gone; returns their
    paths. Never raises: a folder that cannot be listed or written is left as it is."""
    removed = []
    try:
        dest = destination(path)
        folder, prefix = os.path.dirname(dest), temp_prefix(dest)
        entries = [e for e in os.listdir(folder) if e.startswith(prefix)]
    except (OSError, TypeError, ValueError):  # not a path, NUL byte, unreadable folder
        return removed
    with _lock:
        for entry in entries:
            if _stale(entry, prefix):
                try:
                    os.unlink(os.path.join(folder, entry))
                    removed.append(os.path.join(folder, entry))
                except OSError:
                    pass  # read-only folder, or another cleaner was first
    return removed


def _check_destination(dest: str, path) -> None:
    try:
        mode = os.stat(dest).st_mode
    except FileNotFoundError:
        return
    except OSError:
        return  # let the write itself report it
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, "Is a directory", os.fspath(path))
    if not stat.S_ISREG(mode):  # never rename over a device or FIFO (/dev/null as root!)
        raise OSError(errno.EINVAL, "not a regular file", os.fspath(path))


def _create(folder: str, prefix: str) -> tuple:
    """A new temporary file, with ``open``'s permissions (0666 less the umask, not 0600)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        name = f"{prefix}{os.getpid()}-{host()}-{secrets.token_hex(4)}"
        tmp = os.path.join(folder, name)
        with _lock:  # registered first, so a cleaner in another thread never takes it
            _active.add(name)
        try:
            fd = os.open(tmp, flags, 0o666)
        except BaseException as exc:
            with _lock:
                _active.discard(name)
            if isinstance(exc, FileExistsError):
                continue
            raise
        return fd, tmp, name


def _fsync_folder(folder: str) -> None:
    if os.name == "nt":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)  # makes the rename itself durable
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def replacing(path):
    """Yields a temporary path to write by name; on success it replaces ``path`` atomically.

    For writers that want a file name (``fig.savefig(tmp)``); ``open_atomic`` wraps it.
    """
    dest = destination(path)
    _check_destination(dest, path)
    clean_stale(dest)
    folder = os.path.dirname(dest)
    fd, tmp, name = _create(folder, temp_prefix(dest))
    os.close(fd)
    try:
        yield tmp
        fd = os.open(
            tmp, os.O_RDWR | getattr(os, "O_BINARY", 0)
        )  # Windows fsyncs writable fds only
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    finally:
        with _lock:
            _active.discard(name)
    _fsync_folder(folder)


@contextlib.contextmanager
def open_atomic(path, mode: str = "wb", **kwargs):
    """Yields a file object (``open``'s ``mode`` and keywords) that replaces ``path`` atomically
    when the block succeeds; on any exception ``path`` is left as it was."""
    if not mode.startswith("w"):
        raise ValueError(f"open_atomic writes a new file: mode must start with 'w', got {mode!r}")
    with replacing(path) as tmp:
        with open(tmp, mode, **kwargs) as f:
            yield f
            f.flush()


def write_bytes(path, data) -> None:
    """Writes ``data`` (bytes-like) to ``path`` atomically."""
    with open_atomic(path, "wb") as f:
        f.write(data)
