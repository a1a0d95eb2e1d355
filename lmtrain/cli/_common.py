"""What every command shares: the one-line error that ends a command with exit status 2, and the
reading of the user's CSV tables (``lmtrain train``, ``predict`` and ``trace --data``)."""

from __future__ import annotations

import csv
import math

import numpy as np


class UsageError(Exception):
    """A problem with what the user asked for: reported in one line, exit 2."""


# -------------------------------------------------------------------- tables
_PREVIEW = 8  # column names shown in a message before "..."


def _names(names) -> str:
    shown = ", ".join(repr(n) for n in names[:_PREVIEW])
    return shown + (f", ... ({len(names)} in all)" if len(names) > _PREVIEW else "")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_table(path: str):
    """Header and data rows of a CSV file: ``(header, [(line, cells), ...])``.

    Blank lines are skipped. Raises :class:`UsageError` (one line) for a
    missing or unreadable file, a file without a header or without data rows,
    duplicate or empty column names, and rows with the wrong number of cells.
    """
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            rows = [(reader.line_num, row) for row in reader if any(c.strip() for c in row)]
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{path} is a directory, not a CSV file") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not a UTF-8 text file") from None
    except csv.Error as exc:
        raise UsageError(f"{path} is not a readable CSV file: {exc}") from None
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not rows:
        raise UsageError(f"{path} is empty: a header row naming the columns is required")
    line, header = rows[0]
    header = [h.strip() for h in header]
    if all(_is_number(h) for h in header):
        raise UsageError(f"{path}: the first row holds numbers; a header row naming the columns is required")
    for i, h in enumerate(header):
        if not h:
            raise UsageError(f"{path}, line {line}: column {i + 1} of the header has no name")
    seen = set()
    for h in header:
        if h in seen:
            raise UsageError(f"{path}, line {line}: the column name {h!r} appears twice in the header")
        seen.add(h)
    data = rows[1:]
    if not data:
        raise UsageError(f"{path} has a header but no data rows")
    for n, row in data:
        if len(row) != len(header):
            raise UsageError(f"{path}, line {n}: {len(row)} cell(s), but the header has {len(header)} columns")
    return header, data


def columns(path: str, header, data, names) -> np.ndarray:
    """The named columns as a float array (rows, len(names)); names must exist, cells be finite numbers."""
    missing = [n for n in names if n not in header]
    if missing:
        what = "no column" if len(missing) == 1 else "no columns"
        raise UsageError(f"{path} has {what} {_names(missing)}; its columns are {_names(header)}")
    idx = [header.index(n) for n in names]
    out = np.empty((len(data), len(idx)))
    for r, (line, row) in enumerate(data):
        for c, j in enumerate(idx):
            cell = row[j].strip()
            try:
                v = float(cell)
            except ValueError:
                shown = repr(cell) if cell else "an empty cell"
                raise UsageError(f"{path}, line {line}, column {header[j]!r}: {shown} is not a number") from None
            if not math.isfinite(v):
                raise UsageError(f"{path}, line {line}, column {header[j]!r}: {cell!r} is not a finite number")
            out[r, c] = v
    return out
