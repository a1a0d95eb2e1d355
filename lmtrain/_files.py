"""Writing a file safely: :func:`atomic_write_text` and its helpers.

A new path or a regular file is replaced atomically, through a temporary file
in the same directory that keeps the old file's permission bits; a symbolic
link is written through to its target; a character device or FIFO is written
straight through; any other kind of target is refused. Temporary files that a
killed save left behind are removed by the next save to the same path, while a
running save's own (locked) file is left alone. :mod:`lmtrain.io` saves models
with it, and the command line its other outputs.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import stat

try:  # POSIX: lets a save tell a killed save's leftover from a running one's file
    import fcntl
except ImportError:  # pragma: no cover - Windows refuses to delete an open file anyway
    fcntl = None


def atomic_write_text(path, text: str) -> None:
    """Write ``text`` to ``path`` (UTF-8), replacing a regular file atomically.

    * A new path or a regular file: the text goes to a temporary file
      ``.name.<hex>.tmp`` in the same directory, which then replaces the
      target with ``os.replace``. Either the complete new file is in place
      afterwards or (on any error) the old one is untouched and no temporary
      file is left behind. The new file keeps the old one's permission bits.
    * A symbolic link: its target is what gets written (by the same rules);
      the link itself stays.
    * A character device or a FIFO: written straight through, as a shell
      redirection would (such a target cannot be replaced, and ``/dev/null``
      or a named pipe are legitimate destinations).
    * Anything else (a directory, a socket, a block device): refused with an
      ``OSError`` (``IsADirectoryError`` for a directory) that says what it is.

    Temporary files left by a save that was killed before it could clean up
    are removed by the next save to the same path; those of a save still
    running are left alone (each save holds a lock on its own).
    """
    path = os.fspath(path)
    target = os.path.realpath(path)  # a symlink (even a dangling one) is written through
    try:
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    if st is not None and not stat.S_ISREG(st.st_mode):
        if stat.S_ISCHR(st.st_mode) or stat.S_ISFIFO(st.st_mode):
            with open(target, "w", encoding="utf-8", newline="") as f:
                f.write(text)
            return
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(errno.EISDIR, "it is a directory", path)
        raise OSError(errno.EINVAL, f"it is {_file_kind(st.st_mode)}, not a regular file; refusing to replace it",
                      path)
    directory, name = os.path.split(target)
    _remove_stale_temporaries(directory, name)
    for _ in range(3):  # a retry only if a concurrent cleaner took our file before we locked it
        tmp = os.path.join(directory, f".{name}.{secrets.token_hex(6)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)  # released by the kernel if this process dies
                if not _same_file(fd, tmp):
                    os.close(fd)
                    fd = -1
                    continue
            if st is not None:
                os.chmod(tmp, stat.S_IMODE(st.st_mode))
            with os.fdopen(fd, "w", encoding="utf-8", newline="", closefd=False) as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
            return
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        finally:
            if fd >= 0:
                os.close(fd)
    raise OSError(errno.EAGAIN, "could not keep a temporary file from a concurrent cleaner", path)


def _file_kind(mode: int) -> str:
    for test, text in ((stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a directory"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISFIFO, "a FIFO (named pipe)")):
        if test(mode):
            return text
    return "not a regular file"


def _same_file(fd: int, path: str) -> bool:
    try:
        a, b = os.fstat(fd), os.stat(path)
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _remove_stale_temporaries(directory: str, name: str) -> None:
    """Delete ``.name.<hex>.tmp`` files of saves to ``name`` that were killed mid-write.

    A running save holds an exclusive lock on its temporary file, so a file
    that can be locked here belongs to a process that died. Best effort:
    anything unexpected leaves the file where it is.
    """
    if fcntl is None:
        return
    pattern = re.compile(r"\." + re.escape(name) + r"\.[0-9a-f]{12}\.tmp")
    try:
        names = [n for n in os.listdir(directory or ".") if pattern.fullmatch(n)]
    except OSError:
        return
    for n in names:
        p = os.path.join(directory, n)
        try:
            fd = os.open(p, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
        except OSError:
            continue
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue  # a save in progress
            if _same_file(fd, p):
                os.unlink(p)
        except OSError:
            pass
        finally:
            os.close(fd)
