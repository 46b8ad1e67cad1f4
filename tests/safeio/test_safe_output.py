"""Nothing lost, nothing written outside its folder: atomic writes, path confinement, full and
read-only disks (RLIMIT_FSIZE and injected PermissionError, which also bite when CI runs as root),
outputs that are inputs, migrate backups and symlinks, and the run tracker's faults."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import resource
import sqlite3
import subprocess
import sys
import time

import pytest

from ltx_audioloop.safeio import atomic as atomic_module
from ltx_audioloop.safeio import atomic_output, atomic_write, check_not_input, confined_path
from ltx_audioloop.tools.cli import main
from ltx_audioloop.tools.runs.tracker import GuardedTracker, RunTracker, TrackerError
from tests.conftest import write_wav


def snapshot(folder):
    """Relative path -> sha1 (links as their target) of everything under ``folder``."""
    found = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = os.path.join(root, name)
            key = os.path.relpath(path, folder)
            if os.path.islink(path):
                found[key] = "link:" + os.readlink(path)
            elif os.path.isfile(path):
                with open(path, "rb") as handle:
                    found[key] = hashlib.sha1(handle.read()).hexdigest()
    return found


@contextlib.contextmanager
def file_size_limit(limit_bytes):
    """A full disk as CI (root) sees it: writes past ``limit_bytes`` fail with EFBIG (Python ignores SIGXFSZ)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))


# -- the atomic-write helper ---------------------------------------------------------------

def test_atomic_write_keeps_mode_follows_symlinks_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "real.json"
    target.write_text("old")
    os.chmod(target, 0o640)
    link = tmp_path / "link.json"
    link.symlink_to(target)
    atomic_write(link, "new")
    assert link.is_symlink() and target.read_text() == "new"
    assert (target.stat().st_mode & 0o777) == 0o640
    fresh = atomic_write(tmp_path / "fresh.txt", "x")
    umask = os.umask(0)
    os.umask(umask)
    assert (fresh.stat().st_mode & 0o777) == 0o666 & ~umask
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fresh.txt", "link.json", "real.json"]


@pytest.mark.parametrize("fault", [errno.ENOSPC, errno.EROFS, errno.EACCES])
def test_failing_disk_leaves_the_target_byte_identical(tmp_path, monkeypatch, fault):
    target = tmp_path / "out.txt"
    target.write_text("precious")
    before = snapshot(tmp_path)

    def broken_fsync(fd):
        raise OSError(fault, os.strerror(fault))

    monkeypatch.setattr(atomic_module.os, "fsync", broken_fsync)
    with pytest.raises(ValueError, match="out.txt.*nothing was changed"):
        atomic_write(target, "replacement")
    assert snapshot(tmp_path) == before


def test_file_size_limit_and_writer_errors_and_empty_results_change_nothing(tmp_path):
    target = tmp_path / "big.bin"
    target.write_bytes(b"good")
    before = snapshot(tmp_path)
    with file_size_limit(4096):
        with pytest.raises(ValueError, match="larger than this system allows"):
            atomic_write(target, b"x" * 100_000)
    with pytest.raises(RuntimeError):
        with atomic_output(target) as temporary:
            temporary.write_bytes(b"half")
            raise RuntimeError("writer died")
    with pytest.raises(ValueError, match="empty"):
        atomic_write(target, b"")
    with pytest.raises(ValueError, match="is a folder"):
        atomic_write(tmp_path, b"x")
    assert snapshot(tmp_path) == before


def test_output_that_is_an_input_is_refused(tmp_path):
    source = tmp_path / "a.mp4"
    source.write_bytes(b"x")
    (tmp_path / "alias.mp4").symlink_to(source)
    with pytest.raises(ValueError, match="also an input"):
        check_not_input(tmp_path / "alias.mp4", [source], "-o")
    check_not_input(tmp_path / "new.mp4", [source], "-o")


@pytest.mark.parametrize("parts", [("../../../../tmp/x", "a.png"), ("/etc", "a.png"), ("", "/tmp/a.png"),
                                   ("sub", "../../a.png"), ("C:\\Windows", "a.png"), ("..\\..", "a.png"),
                                   ("", ""), ("a\x00b", "c.png"), ("", "..")])
def test_confinement_rejects_every_escape(tmp_path, parts):
    with pytest.raises(ValueError, match="refusing|names no file"):
        confined_path(tmp_path, *parts, what="server output")


def test_confinement_follows_symlinks_and_accepts_plain_subfolders(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "escape").symlink_to(tmp_path)
    with pytest.raises(ValueError, match="outside"):
        confined_path(tmp_path / "out", "escape", "x.png")
    assert confined_path(tmp_path / "out", "vid/a", "x.mp4") == tmp_path / "out" / "vid" / "a" / "x.mp4"


# -- the commands on a full or read-only disk ---------------------------------------------------

def test_plan_png_on_a_full_disk_leaves_nothing_behind(tmp_path, capsys):
    png = tmp_path / "plan.png"
    with file_size_limit(2048):
        code = main(["plan", "--png", str(png)])
    assert code == 2 and "plan.png" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_analyze_schedule_on_a_read_only_folder_keeps_the_old_file(tmp_path, monkeypatch, capsys):
    old = tmp_path / "song.schedule.txt"
    old.write_text("0:00+: the old schedule\n")
    before = snapshot(tmp_path)
    real_mkstemp = atomic_module.tempfile.mkstemp

    def read_only(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(atomic_module.tempfile, "mkstemp", read_only)
    audio = write_wav(tmp_path / "song.wav", seconds=3.0)
    before = snapshot(tmp_path)
    assert main(["analyze", str(audio), "--schedule", str(old)]) == 2
    assert "song.schedule.txt" in capsys.readouterr().err
    assert snapshot(tmp_path) == before
    monkeypatch.setattr(atomic_module.tempfile, "mkstemp", real_mkstemp)


def test_extract_out_on_a_full_disk_can_be_rerun_without_force(tmp_path, capsys):
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("prompt", json.dumps({"1": {"class_type": "LoadAudio", "inputs": {"audio": "x.wav"}}}))
    info.add_text("workflow", json.dumps({"nodes": [], "links": [], "padding": "p" * 20_000}))
    picture = tmp_path / "frame.png"
    Image.new("RGB", (4, 4)).save(picture, pnginfo=info)
    out = tmp_path / "out"
    with file_size_limit(8192):
        assert main(["extract", str(picture), "-o", str(out)]) == 2
    assert "cannot write" in capsys.readouterr().err
    assert not out.exists() or list(out.iterdir()) == []
    assert main(["extract", str(picture), "-o", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["frame.prompt.json", "frame.workflow.json"]


def test_assemble_refuses_its_own_input_before_any_work(tmp_path, capsys):
    a = tmp_path / "a.mp4"
    a.write_bytes(b"not really a video, never read")
    before = snapshot(tmp_path)
    assert main(["assemble", str(a), str(a) + "@0:5", "-o", str(a), "--no-track"]) == 2
    assert "also an input" in capsys.readouterr().err
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("option", [["--sample-rate", "1"], ["--crf", "100"], ["--crf", "-1"],
                                    ["--preset", "warp"]])
def test_assemble_options_are_range_checked_first(tmp_path, capsys, option):
    assert main(["assemble", str(tmp_path / "missing.mp4"), "-o", str(tmp_path / "o.mp4"), "--no-track",
                 *option]) == 2
    assert option[0] in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


# -- migrate: backups, symlinks, modes ---------------------------------------------------------

def _workflow_needing_a_fix(path):
    from ltx_audioloop.tools.workflows.emit import dumps

    document = {"last_node_id": 2, "last_link_id": 9, "nodes": [
        {"id": 1, "type": "PrimitiveInt", "pos": [0, 0], "size": [10, 10], "flags": {}, "order": 0, "mode": 0,
         "outputs": [{"name": "INT", "type": "INT", "links": [9]}], "widgets_values": [1]}],
        "links": [[9, 1, 0, 7, 0, "INT"]], "groups": [], "config": {}, "extra": {}, "version": 0.4}
    path.write_text(dumps(document))
    return path


def test_migrate_symlink_mode_full_disk_and_bad_backup(tmp_path, capsys):
    real = _workflow_needing_a_fix(tmp_path / "real.json")
    os.chmod(real, 0o644)
    original = real.read_bytes()
    link = tmp_path / "wf.json"
    link.symlink_to(real)
    backup = tmp_path / "wf.json.bak"
    backup.write_bytes(b"")  # left by an earlier run on a full disk
    with file_size_limit(64):
        assert main(["migrate", str(link), "--fix", "drop_stale_links"]) == 2
    assert "cannot write" in capsys.readouterr().err
    assert real.read_bytes() == original and backup.read_bytes() == b""
    assert main(["migrate", str(link), "--fix", "drop_stale_links"]) == 0
    assert link.is_symlink() and (real.stat().st_mode & 0o777) == 0o644
    assert backup.read_bytes() == original and real.read_bytes() != original
    assert main(["migrate", str(link), "--revert"]) == 0
    assert link.is_symlink() and real.read_bytes() == original and (real.stat().st_mode & 0o777) == 0o644
    backup.write_bytes(b"")
    assert main(["migrate", str(link), "--revert"]) == 2
    assert "empty or not a workflow" in capsys.readouterr().err and real.read_bytes() == original
    assert main(["migrate", "--list"]) == 0


# -- the run tracker -------------------------------------------------------------------------------

@pytest.mark.parametrize("content", [b"", b"SQLite format 3\x00" + b"\x00" * 200, b"DUCK", b"\x00" * 9000,
                                     b"garbage text that is no database"])
def test_foreign_tracker_files_are_refused_untouched(tmp_path, content, caplog):
    db = tmp_path / "runs.duckdb"
    db.write_bytes(content)
    before = snapshot(tmp_path)
    with pytest.raises(TrackerError, match="--no-track"):
        RunTracker(db)
    guarded = GuardedTracker(db)
    assert not guarded.active and "--no-track" in caplog.text
    guarded.finish(guarded.start("render", {}), "success")
    assert snapshot(tmp_path) == before


def test_sqlite_database_is_refused_without_duckdb_touching_it(tmp_path):
    db = tmp_path / "runs.db"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE t (x)")
    before = snapshot(tmp_path)
    with pytest.raises(TrackerError, match="SQLite"):
        RunTracker(db)
    assert snapshot(tmp_path) == before


def test_locked_tracker_is_skipped_with_a_warning(tmp_path, caplog):
    db = tmp_path / "runs.duckdb"
    RunTracker(db)
    holder = subprocess.Popen([sys.executable, "-c",
                               "import duckdb, sys, time\n"
                               f"c = duckdb.connect({str(db)!r})\n"
                               "print('ready', flush=True)\n"
                               "time.sleep(20)\n"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        started = time.monotonic()
        guarded = GuardedTracker(db, lock_wait_s=0.5)
        run_id = guarded.start("metrics", {})
        guarded.finish(run_id, "success")
        assert time.monotonic() - started < 5
        assert not guarded.active and "locked" in caplog.text and "--no-track" in caplog.text
    finally:
        holder.kill()
        holder.wait()
