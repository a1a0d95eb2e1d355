"""Helpers shared by the chapter scripts in this folder.

Every script ``chapters/<name>.py`` regenerates one figure or table of the
chapter. It imports this module as ``import _common`` (the folder is on
``sys.path`` when a script is run as ``python chapters/<name>.py``;
``lmtrain reproduce`` and the tests put it there too), then:

.. code-block:: python

    def main(argv=None) -> int:
        args = _common.parse_args(argv, __doc__)       # --quick, --out DIR, --seed N
        fig = ...                                      # build a matplotlib Figure
        path = _common.save_figure(fig, "fig_12_1", args.out)   # marked when args.quick
        md, csv = _common.write_table(rows, columns, "table_12_1", args.out)
        return 0

A full run writes to ``figures/`` at the top of the source tree, beside
``chapters/`` (found from this file's location, never from the working
directory): that folder holds the committed outputs of full runs and nothing
else. ``--out`` names another folder. A ``--quick`` run without ``--out``
writes to a new temporary folder and says where, so a small run can never
replace a committed figure; a figure saved in quick mode says so in its title
(and in the PNG's ``Description`` text), so it cannot pass for a full one.

What a script prints is its report: ``lmtrain reproduce`` shows it under the
script's name. Numbers that change from run to run, such as times, belong in
the report and never in a table written to ``figures/``, so that a full run
on a clean checkout leaves ``git status`` clean (PNG bytes aside, where
matplotlib versions differ); a figure that plots times goes to
``figures/measured/`` (:func:`measured_dir`), which git ignores.

Importing this module selects matplotlib's non-interactive Agg backend:
scripts never open windows.
"""

from __future__ import annotations

import argparse
import csv
import math
import re
import tempfile
from pathlib import Path
from typing import Callable, Mapping, Sequence

import matplotlib

matplotlib.use("Agg", force=True)

import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)

#: resolution of saved figures; 7 in wide figures come out about 1050 px wide
DPI = 150

#: the committed full-run outputs: ``figures/`` beside ``chapters/``
FIGURES = Path(__file__).resolve().parent.parent / "figures"

#: what a figure made by a ``--quick`` run says of itself, in its title and PNG metadata
QUICK_NOTE = "QUICK RUN (--quick): a small test run, not the committed figure"


def figures_dir(out=None) -> Path:
    """Folder the scripts write to, created if missing.

    Parameters
    ----------
    out : str or Path, optional
        Another folder (``--out``). Default: :data:`FIGURES`, ``figures/``
        beside the ``chapters/`` folder.
    """
    path = Path(out) if out is not None else FIGURES
    path.mkdir(parents=True, exist_ok=True)
    return path


def measured_dir(out) -> Path:
    """Folder for outputs that hold measured times: ``figures/measured/`` for a full run, else ``out``.

    A figure of times changes with every run, so it cannot be a committed file
    (a full run must leave ``git status`` clean): full runs put such figures in
    ``figures/measured/``, which git ignores; the documentation shows a copy
    from a recorded run.
    """
    path = Path(out) / "measured" if Path(out).resolve() == FIGURES.resolve() else Path(out)
    path.mkdir(parents=True, exist_ok=True)
    return path


#: the mode of the run in progress, set by :func:`parse_args` (one script runs at a time)
_RUN = {"quick": False}


def quick_folder() -> Path:
    """A new temporary folder for a ``--quick`` run that was given no ``--out``."""
    return Path(tempfile.mkdtemp(prefix="lmtrain-quick-"))


def parse_args(argv: Sequence[str] | None, description: str | None,
               add_arguments: Callable[[argparse.ArgumentParser], None] | None = None) -> argparse.Namespace:
    """Parse a chapter script's command line.

    Every script accepts ``--quick`` (a small, fast run used by the test suite),
    ``--out DIR`` (where to write) and ``--seed N`` (default 0).
    ``add_arguments(parser)`` may add script-specific options. Without
    ``--out`` a full run writes to :data:`FIGURES` and a quick run to a new
    temporary folder, whose name it prints.

    Returns
    -------
    argparse.Namespace
        With ``quick`` (bool), ``out`` (an existing :class:`Path`) and ``seed`` (int).
    """
    first = (description or "").strip().splitlines()
    parser = argparse.ArgumentParser(description=first[0] if first else None)
    parser.add_argument("--quick", action="store_true",
                        help="small, fast run, as the tests use; without --out it writes to a new temporary folder")
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default: figures/ beside chapters/ for a full run)")
    parser.add_argument("--seed", type=int, default=0, help="seed of every random choice (default 0)")
    if add_arguments is not None:
        add_arguments(parser)
    args = parser.parse_args(None if argv is None else list(argv))
    _RUN["quick"] = bool(args.quick)
    if args.quick and args.out is None:
        args.out = quick_folder()
        print(f"quick run: writing to {args.out} (figures/ holds the full runs and is left alone)")
    args.out = figures_dir(args.out)
    return args


def mark_quick(fig) -> None:
    """Put :data:`QUICK_NOTE` at the top of ``fig``, in red, above its own title if it has one."""
    old = fig.get_suptitle()
    size = fig._suptitle.get_fontsize() if old else 11  # keep the size the script chose
    fig.suptitle(f"{QUICK_NOTE}\n{old}" if old else QUICK_NOTE, fontsize=size, color="#b00020")


def save_figure(fig, name: str, out=None, *, quick: bool | None = None) -> Path:
    """Save ``fig`` as ``<out>/<name>.png`` and close it; return the path.

    In a quick run (``quick=None``: the mode :func:`parse_args` last parsed)
    the figure is first marked by :func:`mark_quick`, and the PNG's
    ``Description`` text says the same, for programs to check.
    """
    if quick is None:
        quick = _RUN["quick"]
    if not isinstance(name, str) or not name or "/" in name or "\\" in name:
        raise ValueError(f"name must be a plain file stem, got {name!r}")
    path = figures_dir(out) / f"{name}.png"
    metadata = {"Software": None}  # fixed, so re-running a script does not change the bytes needlessly
    if quick:
        mark_quick(fig)
        metadata["Description"] = QUICK_NOTE
    fig.savefig(path, dpi=DPI, metadata=metadata)
    plt.close(fig)
    return path


def png_text(path) -> dict:
    """The ``tEXt`` entries of a PNG file (e.g. ``{"Description": ...}``), read without extra libraries."""
    import struct
    import zlib

    data = Path(path).read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path} is not a PNG file")
    found, pos = {}, 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"tEXt":
            key, _, value = body.partition(b"\0")
            found[key.decode("latin-1")] = value.decode("latin-1")
        elif kind == b"zTXt":
            key, _, rest = body.partition(b"\0")
            found[key.decode("latin-1")] = zlib.decompress(rest[1:]).decode("latin-1")
        elif kind == b"IEND":
            break
        pos += 12 + length
    return found


def _cell(value, fmt: str | None) -> str:
    if value is None:
        return ""
    if fmt is not None and isinstance(value, (int, float)) and not isinstance(value, bool):
        if isinstance(value, float) and math.isnan(value):
            return "—"
        return format(value, fmt)
    return str(value).replace("|", "\\|").replace("\n", " ")


def write_table(rows: Sequence, columns: Sequence[str], name: str, out=None,
                formats: Mapping[str, str] | None = None) -> tuple[Path, Path]:
    """Write ``rows`` as ``<out>/<name>.md`` (a Markdown table) and ``<out>/<name>.csv``.

    Parameters
    ----------
    rows : sequence of mappings or sequences
        One entry per row: a mapping from column name to value, or the values
        in column order.
    columns : sequence of str
        Column headings, in order.
    formats : mapping, optional
        Format spec per column for the Markdown file (e.g. ``{"time": ".2f"}``);
        the CSV always holds the full values (``repr`` of floats).

    Returns
    -------
    (md_path, csv_path)
    """
    columns = [str(c) for c in columns]
    if not columns:
        raise ValueError("columns must not be empty")
    formats = dict(formats or {})
    table = []
    for i, row in enumerate(rows):
        if isinstance(row, Mapping):
            missing = [c for c in columns if c not in row]
            if missing:
                raise ValueError(f"rows[{i}] lacks column(s) {missing}")
            table.append([row[c] for c in columns])
        else:
            row = list(row)
            if len(row) != len(columns):
                raise ValueError(f"rows[{i}] has {len(row)} values, expected {len(columns)}")
            table.append(row)
    out = figures_dir(out)
    md_path = out / f"{name}.md"
    csv_path = out / f"{name}.csv"
    lines = ["| " + " | ".join(_cell(c, None) for c in columns) + " |",
             "|" + "|".join("---" for _ in columns) + "|"]
    for row in table:
        lines.append("| " + " | ".join(_cell(v, formats.get(c)) for c, v in zip(columns, row)) + " |")
    md_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with open(csv_path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        for row in table:
            # repr of a plain float: every digit, and no "np.float64(...)" wrapper from NumPy scalars
            writer.writerow(["" if v is None else repr(float(v)) if isinstance(v, float) else v for v in row])
    return md_path, csv_path


def read_markdown_table(path) -> tuple[list[str], list[list[str]]]:
    """Read back a table written by :func:`write_table`: (columns, rows of strings)."""
    lines = [ln.strip() for ln in Path(path).read_text(encoding="utf-8").splitlines() if ln.strip().startswith("|")]
    if len(lines) < 2:
        raise ValueError(f"{path} holds no Markdown table")

    def split(line):
        body = line[1:-1] if line.endswith("|") and not line.endswith("\\|") else line[1:]
        return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", body)]

    return split(lines[0]), [split(ln) for ln in lines[2:]]


def source_line(module: str, function: str, fragment: str | None = None) -> tuple[str, int, str]:
    """Where ``fragment`` sits in the source of ``module.function``: ``(file, line, text)``.

    ``file`` is relative to the source tree's root (e.g. ``"lmtrain/engine.py"``),
    ``line`` is 1-based and ``text`` is that line, stripped. Without a fragment
    the line of the function's ``def`` is returned. Compiled functions are read
    through their Python source (``py_func``). Raises ``LookupError`` unless
    the fragment occurs on exactly one line of the function, so a figure that
    points into the code can never point at a wrong line silently.
    """
    import importlib
    import inspect

    mod = importlib.import_module(module)
    obj = mod
    for part in function.split("."):
        obj = getattr(obj, part)
    obj = getattr(obj, "py_func", obj)
    lines, start = inspect.getsourcelines(obj)
    path = Path(inspect.getsourcefile(obj)).resolve()
    root = Path(__file__).resolve().parent.parent
    shown = path.relative_to(root).as_posix() if root in path.parents else path.name
    if fragment is None:
        k = next(i for i, ln in enumerate(lines) if ln.lstrip().startswith(("def ", "class ")))
        return shown, start + k, lines[k].strip()
    hits = [i for i, ln in enumerate(lines) if fragment in ln]
    if len(hits) != 1:
        raise LookupError(f"{fragment!r} occurs on {len(hits)} lines of {module}.{function} ({shown}), "
                          "expected exactly one")
    return shown, start + hits[0], lines[hits[0]].strip()
