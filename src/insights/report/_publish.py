"""Where a render works and how its files reach ``--out``: isolated, atomic, all or nothing.

Each render works in its own temporary directory (:func:`workspace`): the executed
notebooks, figures, intermediate Markdown/Typst, the finished files and the kernels'
connection files. The directory records the owning process id; it is removed when the
render ends (normally, on an exception, on Ctrl-C or SIGTERM), and directories left by a
killed render (its process is gone) are removed by the next render.

:func:`publish` then moves every finished file into place at once: each is copied beside
its target under a unique hidden name (``.insights-<pid>-<random>.partial``) and renamed
over the target (``os.replace``, atomic on POSIX) only when all copies succeeded. Two
renders into one ``--out`` never share a temporary name, so each file left is complete;
when any copy fails nothing new is left behind (files already there are untouched).
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from types import FrameType

from insights.report._errors import RenderError

__all__ = ["PublishError", "check_targets", "clean_stale", "publish", "workspace"]

WORK_PREFIX = ".insights-render-"
_OWNER = "owner.pid"
_PARTIAL_PREFIX = ".insights-"
_PARTIAL_SUFFIX = ".partial"
#: a work directory without an owner file is a render killed while starting: gone after this
_UNOWNED_AGE = 3600.0
#: an owner pid still alive after this long is another process that reused the id
_MAX_AGE = 7 * 86_400.0


class PublishError(RenderError):
    """The report rendered but could not be written to the output folder (nothing was)."""


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def _owner(path: Path) -> int | None:
    try:
        return int((path / _OWNER).read_text(encoding="ascii").split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _stale(path: Path, *, now: float) -> bool:
    try:
        info = path.lstat()
    except OSError:
        return False
    if not path.is_dir() or path.is_symlink() or info.st_uid != os.getuid():
        return False
    age = now - info.st_mtime
    pid = _owner(path)
    if pid is None:
        return age > _UNOWNED_AGE
    if pid == os.getpid():
        return False
    return not _alive(pid) or age > _MAX_AGE


def clean_stale(root: str | Path | None = None) -> list[Path]:
    """Remove the work directories of renders whose process is gone; the ones removed.

    Parameters
    ----------
    root
        Where work directories live (default: :func:`tempfile.gettempdir`).

    Examples
    --------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> dead = root / ".insights-render-x"
    >>> dead.mkdir()
    >>> _ = (dead / "owner.pid").write_text("999999999")  # no such process
    >>> [p.name for p in clean_stale(root)], dead.exists()
    (['.insights-render-x'], False)
    """
    folder = Path(root) if root is not None else Path(tempfile.gettempdir())
    now = time.time()
    removed: list[Path] = []
    try:
        entries = [p for p in folder.iterdir() if p.name.startswith(WORK_PREFIX)]
    except OSError:
        return removed
    for path in entries:
        if _stale(path, now=now):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _clean_partials(folder: Path) -> None:
    """Remove ``.insights-<pid>-*.partial`` files of dead processes from ``folder``."""
    try:
        entries = list(folder.glob(f"{_PARTIAL_PREFIX}*{_PARTIAL_SUFFIX}"))
    except OSError:
        return
    for path in entries:
        pid_text = path.name[len(_PARTIAL_PREFIX) :].split("-", 1)[0]
        if not pid_text.isdigit() or _alive(int(pid_text)):
            continue
        with suppress(OSError):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()


class _Terminated(SystemExit):
    """SIGTERM during a render: unwind (cleaning up) and exit 128 + 15."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise _Terminated(128 + signum)


@contextmanager
def workspace(root: str | Path | None = None) -> Iterator[Path]:
    """A fresh private work directory, removed on exit, on errors and on SIGTERM.

    Stale work directories of killed renders under ``root`` are removed first.

    Examples
    --------
    >>> with workspace() as work:
    ...     (work / "owner.pid").is_file(), work.name.startswith(".insights-render-")
    (True, True)
    >>> work.exists()
    False
    """
    folder = Path(root) if root is not None else Path(tempfile.gettempdir())
    clean_stale(folder)
    path = Path(tempfile.mkdtemp(prefix=WORK_PREFIX, dir=folder))
    (path / _OWNER).write_text(f"{os.getpid()}\n", encoding="ascii")
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if main else None
    try:
        yield path
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)
        shutil.rmtree(path, ignore_errors=True)


def _name_max(folder: Path) -> int:
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        return 255


def check_targets(targets: Sequence[Path]) -> None:
    """Fail before rendering when the targets cannot be written: a path part that is a
    file, a folder this process may not write, or a file name too long.

    Raises
    ------
    PublishError
        With one line naming the path and what is wrong.

    Examples
    --------
    >>> check_targets([Path("/dev/null/2024Q4/report.pdf")])
    Traceback (most recent call last):
    ...
    insights.report._publish.PublishError: cannot write /dev/null/2024Q4/report.pdf: /dev/null is not a directory
    """
    for target in targets:
        existing = target.parent
        while not _exists(existing) and existing != existing.parent:
            existing = existing.parent
        limit = _name_max(existing)
        for part in target.parts[1:]:
            if len(os.fsencode(part)) > limit:
                raise PublishError(
                    f"cannot write {_short(target)}: the name {part[:40]!r}... is longer than "
                    f"{limit} bytes; choose a shorter --out"
                )
        if not existing.is_dir():
            raise PublishError(f"cannot write {target}: {existing} is not a directory")
        if not os.access(existing, os.W_OK | os.X_OK):
            raise PublishError(f"cannot write {target}: {existing} is not writable")


def _exists(path: Path) -> bool:
    """``path.exists()``, False (not an error) for a name too long to exist."""
    try:
        return path.exists()
    except OSError:
        return False


def _short(path: Path, keep: int = 120) -> str:
    text = str(path)
    return text if len(text) <= keep else f"{text[: keep // 2]}...{text[-keep // 2 :]}"


def _makedirs(folder: Path) -> list[Path]:
    """Create ``folder`` and missing parents; the ones created, deepest last."""
    missing: list[Path] = []
    probe = folder
    while not _exists(probe) and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    created: list[Path] = []
    for path in reversed(missing):
        try:
            path.mkdir()
        except FileExistsError:
            if not path.is_dir():
                raise
            continue
        created.append(path)
    return created


def _mode() -> int:
    """Permissions a new file gets under the process umask (``mkstemp`` uses 0600)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def _stage(source: Path, target: Path) -> Path:
    """A complete copy of ``source`` under a unique hidden name beside ``target``."""
    prefix = f"{_PARTIAL_PREFIX}{os.getpid()}-"
    if source.is_dir():  # Quarto's HTML book
        partial = Path(tempfile.mkdtemp(dir=target.parent, prefix=prefix, suffix=_PARTIAL_SUFFIX))
        os.chmod(partial, _mode() | 0o111)
        shutil.copytree(source, partial, dirs_exist_ok=True)
        return partial
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=prefix, suffix=_PARTIAL_SUFFIX)
    partial = Path(name)
    try:
        with os.fdopen(fd, "wb") as dst, source.open("rb") as src:
            shutil.copyfileobj(src, dst, length=1 << 20)
            dst.flush()
            os.fsync(dst.fileno())
        os.chmod(partial, _mode())
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return partial


def _keep(target: Path) -> Path | None:
    """A hidden copy of an existing ``target`` to restore if the publish is rolled back.

    A file is kept as a hard link (the target stays in place, no bytes copied; a copy
    where the file system has no links); a folder (Quarto's HTML book) is moved aside.
    ``None`` when there is no target yet.
    """
    if not _exists(target):
        return None
    prefix = f"{_PARTIAL_PREFIX}{os.getpid()}-old-"
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=prefix, suffix=_PARTIAL_SUFFIX)
    os.close(fd)
    kept = Path(name)
    if target.is_dir() and not target.is_symlink():
        kept.unlink()
        os.replace(target, kept)
        return kept
    try:
        os.replace(_link(target, kept), kept)
    except OSError:
        shutil.copy2(target, kept)
    return kept


def _link(target: Path, kept: Path) -> Path:
    """A hard link to ``target`` under a fresh name beside ``kept``."""
    link = kept.with_name(kept.name[: -len(_PARTIAL_SUFFIX)] + "-link" + _PARTIAL_SUFFIX)
    os.link(target, link)
    return link


def _roll_back(done: Sequence[tuple[Path, Path | None]]) -> None:
    """Put every target of ``done`` back as it was: the kept copy, or nothing."""
    for target, kept in reversed(done):
        with suppress(OSError):
            if kept is None:
                _remove(target)
            else:
                if target.is_dir() and not target.is_symlink():
                    shutil.rmtree(target)
                os.replace(kept, target)


def _remove(path: Path) -> None:
    with suppress(OSError):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()


def _reason(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "no space left on the device"
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return "the folder is not writable"
    if exc.errno == errno.ENAMETOOLONG:
        return "the file name is too long"
    if exc.errno in (errno.ENOTDIR, errno.EEXIST):
        return "a part of the path is a file, not a folder"
    return exc.strerror or type(exc).__name__


def publish(pairs: Sequence[tuple[Path, Path]]) -> list[Path]:
    """Move finished files to their targets, all or nothing; the targets written.

    Every ``(source, target)`` is first copied beside its target under a unique hidden
    name; only when all copies are complete is each renamed over its target. The renames
    are one transaction: a target that existed is kept aside first (a hard link), and
    if a later rename fails every target already replaced gets its old file back (or is
    removed when it is new). On any failure the copies, kept files and the folders made
    for them are removed and nothing new is left (existing files keep their content).

    Raises
    ------
    PublishError
        An ``OSError`` while writing (disk full, read-only folder, name too long ...),
        in one line naming the target.

    Examples
    --------
    >>> import tempfile
    >>> tmp = Path(tempfile.mkdtemp())
    >>> _ = (tmp / "a.pdf").write_bytes(b"%PDF")
    >>> [p.name for p in publish([(tmp / "a.pdf", tmp / "out" / "2024Q4" / "r.pdf")])]
    ['r.pdf']
    >>> sorted(p.name for p in (tmp / "out" / "2024Q4").iterdir())
    ['r.pdf']
    """
    created: list[Path] = []
    staged: list[tuple[Path, Path]] = []
    done: list[tuple[Path, Path | None]] = []  # targets replaced, with their kept copies
    target = pairs[0][1] if pairs else Path()
    try:
        for source, target in pairs:
            created += _makedirs(target.parent)
            _clean_partials(target.parent)
            staged.append((_stage(source, target), target))
        for partial, target in staged:
            kept = _keep(target)
            done.append((target, kept))
            os.replace(partial, target)
    except BaseException as exc:
        _roll_back(done)
        for partial, _ in staged:
            _remove(partial)
        for folder in reversed(created):
            with suppress(OSError):
                folder.rmdir()
        if isinstance(exc, OSError):
            raise PublishError(f"cannot write {_short(target)}: {_reason(exc)}") from None
        raise
    for _, kept in done:
        if kept is not None:
            _remove(kept)
    return [t for _, t in staged]
