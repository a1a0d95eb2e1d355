"""Helpers shared by the chapter scripts in this folder.

Every script ``chapters/<name>.py`` regenerates one figure or table of the
chapter. It imports this module as ``import _common`` (the folder is on
``sys.path`` when a script is run as ``python chapters/<name>.py``;
``lmtrain reproduce`` and the tests put it there too), then:

.. code-block:: python

    def main(argv=None) -> int:
        args = _common.parse_args(argv, __doc__)       # --quick, --out DIR, --seed N
        fig = ...                                      # build a matplotlib Figure
        path = _common.save_figure(fig, "fig_12_1", args.out)
        md, csv = _common.write_table(rows, columns, "table_12_1", args.out)
        return 0

Output goes to ``chapters/figures/`` (found from this file's location, never
from the working directory) unless ``--out`` names another folder, which the
tests use so that they never overwrite the committed figures. Importing this
module selects matplotlib's non-interactive Agg backend: scripts never open
windows.
"""

from __future__ import annotations

import argparse
import csv
import math
import re
from pathlib import Path
from typing import Callable, Mapping, Sequence

import matplotlib

matplotlib.use("Agg", force=True)

import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)

#: resolution of saved figures; 7 in wide figures come out about 1050 px wide
DPI = 150


def figures_dir(out=None) -> Path:
    """Folder the scripts write to, created if missing.

    Parameters
    ----------
    out : str or Path, optional
        Another folder (``--out``). Default: ``figures/`` beside this file.
    """
    path = Path(out) if out is not None else Path(__file__).resolve().parent / "figures"
    path.mkdir(parents=True, exist_ok=True)
    return path


def parse_args(argv: Sequence[str] | None, description: str | None,
               add_arguments: Callable[[argparse.ArgumentParser], None] | None = None) -> argparse.Namespace:
    """Parse a chapter script's command line.

    Every script accepts ``--quick`` (a small, fast run used by the test suite),
    ``--out DIR`` (where to write; default :func:`figures_dir`) and ``--seed N``
    (default 0). ``add_arguments(parser)`` may add script-specific options.

    Returns
    -------
    argparse.Namespace
        With ``quick`` (bool), ``out`` (an existing :class:`Path`) and ``seed`` (int).
    """
    first = (description or "").strip().splitlines()
    parser = argparse.ArgumentParser(description=first[0] if first else None)
    parser.add_argument("--quick", action="store_true", help="small, fast run (used by the tests)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: chapters/figures)")
    parser.add_argument("--seed", type=int, default=0, help="seed of every random choice (default 0)")
    if add_arguments is not None:
        add_arguments(parser)
    args = parser.parse_args(None if argv is None else list(argv))
    args.out = figures_dir(args.out)
    return args


def save_figure(fig, name: str, out=None) -> Path:
    """Save ``fig`` as ``<out>/<name>.png`` and close it; return the path."""
    if not isinstance(name, str) or not name or "/" in name or "\\" in name:
        raise ValueError(f"name must be a plain file stem, got {name!r}")
    path = figures_dir(out) / f"{name}.png"
    # fixed metadata so re-running a script does not change the file's bytes needlessly
    fig.savefig(path, dpi=DPI, metadata={"Software": None})
    plt.close(fig)
    return path


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
            writer.writerow(["" if v is None else repr(v) if isinstance(v, float) else v for v in row])
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
