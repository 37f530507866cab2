"""wick.atomic: the one writer (temporary file, fsync, rename) and the clean-up of stale temps."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from wick import atomic


def _dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _stale_temp(folder, name: str, pid: int, data: bytes = b"half", host=None) -> str:
    path = os.path.join(folder, f".{name}{atomic.TAG}{pid}-{host or atomic.host()}-deadbeef")
    with open(path, "wb") as f:
        f.write(data)
    return path


def test_writes_and_replaces_with_nothing_left_over(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("old")
    with atomic.open_atomic(path, "w", encoding="utf-8") as f:
        f.write("new")
        # Mid-write the destination still holds the old data; the new one is a temp file.
        assert path.read_text() == "old"
        (temp,) = [e for e in os.listdir(tmp_path) if e != "notes.txt"]
        assert temp.startswith(f".notes.txt{atomic.TAG}{os.getpid()}-{atomic.host()}-")
    assert path.read_text() == "new"
    assert os.listdir(tmp_path) == ["notes.txt"]
    atomic.write_bytes(path, b"\x00\x01")
    assert path.read_bytes() == b"\x00\x01" and os.listdir(tmp_path) == ["notes.txt"]


@pytest.mark.parametrize("exc", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_an_exception_keeps_the_old_file_and_removes_the_temp(tmp_path, exc):
    path = tmp_path / "model.bin"
    path.write_bytes(b"good")
    with pytest.raises(type(exc)):
        with atomic.open_atomic(path) as f:
            f.write(b"half of the new")
            raise exc
    assert path.read_bytes() == b"good"
    assert os.listdir(tmp_path) == ["model.bin"]


def test_a_failed_rename_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "model.bin"
    path.write_bytes(b"good")

    def failing_replace(src, dst):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="Input/output error"):
        atomic.write_bytes(path, b"new")
    monkeypatch.undo()
    assert path.read_bytes() == b"good" and os.listdir(tmp_path) == ["model.bin"]


def test_replacing_yields_a_path_for_writers_that_want_a_name(tmp_path):
    path = tmp_path / "plot.png"
    with atomic.replacing(path) as tmp:
        assert os.path.dirname(tmp) == str(tmp_path)
        with open(tmp, "wb") as f:
            f.write(b"png")
    assert path.read_bytes() == b"png" and os.listdir(tmp_path) == ["plot.png"]


def test_stale_temps_of_dead_writers_are_removed_and_others_kept(tmp_path):
    dead = _dead_pid()
    stale = _stale_temp(tmp_path, "m.safetensors", dead)
    # A stale temp of our own pid not in use now: left by an earlier process with the same pid.
    own = _stale_temp(tmp_path, "m.safetensors", os.getpid())
    live = _stale_temp(tmp_path, "m.safetensors", os.getppid())  # its writer is running
    other = _stale_temp(tmp_path, "other.safetensors", dead)  # another destination's
    # Another machine's writer (a shared folder): its pid means nothing here.
    remote = _stale_temp(tmp_path, "m.safetensors", dead, host="0badc0de")
    odd = tmp_path / f".m.safetensors{atomic.TAG}notapid"
    odd.write_bytes(b"")
    removed = atomic.clean_stale(tmp_path / "m.safetensors")
    assert sorted(removed) == sorted([stale, own])
    kept = (live, other, remote, odd)
    assert sorted(os.listdir(tmp_path)) == sorted(os.path.basename(p) for p in kept)


def test_a_save_removes_the_stale_temps_of_its_destination(tmp_path):
    path = tmp_path / "out.csv"
    stale = _stale_temp(tmp_path, "out.csv", _dead_pid(), b"x" * 1000)
    atomic.write_bytes(path, b"a,b\n")
    assert not os.path.exists(stale)
    assert os.listdir(tmp_path) == ["out.csv"]


def test_the_temp_in_use_by_this_process_is_never_removed(tmp_path):
    path = tmp_path / "big.bin"
    with atomic.open_atomic(path) as f:
        f.write(b"first half")
        assert atomic.clean_stale(path) == []
        f.write(b", second half")
    assert path.read_bytes() == b"first half, second half"


def test_refuses_folders_and_devices_as_destinations(tmp_path):
    with pytest.raises(IsADirectoryError):
        atomic.write_bytes(tmp_path, b"x")
    if os.path.exists(os.devnull) and os.name != "nt":
        with pytest.raises(OSError, match="not a regular file"):
            atomic.write_bytes(os.devnull, b"x")
        assert stat.S_ISCHR(os.stat(os.devnull).st_mode)
    assert os.listdir(tmp_path) == []


def test_a_symlink_keeps_pointing_at_the_new_data(tmp_path):
    target = tmp_path / "real.bin"
    target.write_bytes(b"old")
    link = tmp_path / "link.bin"
    link.symlink_to(target)
    atomic.write_bytes(link, b"new")
    assert link.is_symlink() and target.read_bytes() == b"new"
    assert sorted(os.listdir(tmp_path)) == ["link.bin", "real.bin"]


def test_a_long_name_gets_a_short_temp_name(tmp_path):
    path = tmp_path / ("n" * 200 + ".safetensors")
    stale = _stale_temp(tmp_path, atomic.temp_prefix(path)[1 : -len(atomic.TAG)], _dead_pid())
    atomic.write_bytes(path, b"ok")
    assert path.read_bytes() == b"ok" and not os.path.exists(stale)
    assert len(atomic.temp_prefix(path)) < 60


def test_ordinary_permissions(tmp_path):
    plain = tmp_path / "plain"
    plain.write_bytes(b"")
    path = tmp_path / "written"
    atomic.write_bytes(path, b"x")
    assert stat.S_IMODE(path.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode)


def test_rejects_read_modes(tmp_path):
    with pytest.raises(ValueError, match="mode must start with 'w'"):
        with atomic.open_atomic(tmp_path / "x", "rb"):
            pass
    assert os.listdir(tmp_path) == []
