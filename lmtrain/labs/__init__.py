"""Seven teaching labs that follow the chapter, each with a sheet, a skeleton,
a checker and a reference solution.

A student writes the chapter's computations in plain Python and NumPy in a
file of their own (``lmtrain lab start N``); the checker (``lmtrain lab
check N``) calls each function on small seeded networks — MLP, bridged MLP,
fully connected cascade, mixed activations and gains, several outputs — and
compares with lmtrain's engine and with finite differences. A wrong answer is
reported with the chapter equation it breaks and the smallest case where it
fails.

Each lab is a sub-package ``lmtrain.labs.labN_<name>`` holding ``sheet.md``,
``skeleton.py``, ``solution.py``, ``answers.md`` and ``checker.py``; the
checkers use only lmtrain's public API.

From Python::

    from lmtrain import labs
    labs.check(2, "lab2_jacobian.py").passed
    labs.check(2, namespace=globals())      # in a notebook
"""

from __future__ import annotations

import ast
import importlib
import json
import os
from dataclasses import dataclass
from importlib import resources

from . import _runner
from ._runner import Outcome, Report

__all__ = ["LABS", "Lab", "Outcome", "Report", "check", "get", "notebook", "start", "write_solution"]


@dataclass(frozen=True)
class Lab:
    """One lab: its number, name, title, the chapter it covers and the time it takes."""

    number: int
    name: str
    title: str
    covers: str
    minutes: int

    @property
    def stem(self) -> str:
        """File names the student gets: ``<stem>.md``, ``<stem>.py``, ``<stem>.ipynb``."""
        return f"lab{self.number}_{self.name}"

    @property
    def package(self) -> str:
        return f"{__name__}.{self.stem}"

    def text(self, filename: str) -> str:
        """A file of the lab's package data (``sheet.md``, ``skeleton.py``, ...)."""
        return resources.files(self.package).joinpath(filename).read_text(encoding="utf-8")

    def checker(self):
        return importlib.import_module(f"{self.package}.checker")

    @property
    def functions(self) -> list[str]:
        """The functions the student writes, in the order of the sheet's tasks."""
        return list(self.checker().CHECKS)


LABS = (
    Lab(1, "forward", "Forward pass", "§12.3.1, eqs. 12.1-12.2, 12.27-12.31, 12.37-12.45, Fig. 12.7", 60),
    Lab(2, "jacobian", "Jacobian by unit errors", "§12.3.1, eqs. 12.16, 12.29-12.36, 12.46-12.52, Figs. 12.2-12.4", 90),
    Lab(3, "update_rules", "Update rules", "§12.2, Table 12.1, eqs. 12.4, 12.12-12.26, Fig. 12.1", 60),
    Lab(4, "training_loop", "The training loop", "§12.3.2, Fig. 12.5, eqs. 12.1, 12.25", 90),
    Lab(5, "comparison", "Comparing algorithms", "§12.4, Table 12.2, Figs. 12.6-12.8", 45),
    Lab(6, "quasi_hessian", "Quasi-Hessian without J", "Table 12.1 (NBN row), §12.5, eqs. 12.18, 12.22", 60),
    Lab(7, "curve_fitting", "Curve fitting", "eqs. 12.15, 12.25, Fig. 12.5 (forced step)", 60),
)


def get(number) -> Lab:
    """The lab numbered ``number`` (1-7), or ``ValueError`` naming the valid numbers."""
    try:
        n = int(number)
    except (TypeError, ValueError):
        n = None
    if n is None or str(number).strip() != str(n) or not 1 <= n <= len(LABS):
        raise ValueError(f"there is no lab {number!r}: the labs are 1 to {len(LABS)} (see 'lmtrain lab list')")
    return LABS[n - 1]


# ------------------------------------------------------------------ check
def check(number, path: str | None = None, *, namespace: dict | None = None) -> Report:
    """Check a student's file (default ``<stem>.py`` here) or a notebook's ``globals()``.

    Returns a :class:`Report`; ``str(report)`` is what ``lmtrain lab check`` prints.
    """
    lab = get(number)
    if namespace is not None:
        return _runner.check_namespace(lab, namespace)
    path = path or f"{lab.stem}.py"
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no file {path!r}: write it with 'lmtrain lab start {lab.number}' or name it")
    return _runner.check_file(lab, path)


def check_notebook(number, namespace: dict) -> bool:
    """Print the report for the functions defined in a notebook; True when all pass."""
    report = check(number, namespace=namespace)
    print(report)
    return report.passed


# ------------------------------------------------------------------ files
def _targets(lab: Lab, directory: str, notebook: bool) -> dict:
    files = {f"{lab.stem}.md": lab.text("sheet.md"), f"{lab.stem}.py": lab.text("skeleton.py")}
    if notebook:
        files[f"{lab.stem}.ipynb"] = json.dumps(make_notebook(lab), indent=1, ensure_ascii=False) + "\n"
    return {os.path.join(directory, name): text for name, text in files.items()}


def start(number, directory: str = ".", notebook: bool = False) -> list[str]:
    """Write the sheet and the skeleton (and with ``notebook`` a Jupyter notebook) into ``directory``.

    Never overwrites: when any of the files exists, nothing is written and
    ``FileExistsError`` names it.
    """
    lab = get(number)
    files = _targets(lab, directory, notebook)
    existing = [p for p in files if os.path.exists(p)]
    if existing:
        names = ", ".join(os.path.basename(p) for p in existing)
        raise FileExistsError(f"{names} already in {directory!r}: not overwritten "
                              f"(move {'them' if len(existing) > 1 else 'it'} away or start in another directory)")
    os.makedirs(directory, exist_ok=True)
    for path, text in files.items():
        # "x": fail rather than overwrite a file that appeared meanwhile
        with open(path, "x", encoding="utf-8") as f:
            f.write(text)
    return list(files)


def write_solution(number, directory: str = ".") -> tuple[list[str], list[tuple[str, str]]]:
    """Write the reference solution (``<stem>.py``) and the answers (``<stem>_answers.md``).

    A different file already at either path is first renamed to ``<name>.bak``
    (``.bak2``, ... if that is taken), so nothing a student wrote is lost.
    Returns the files written and the ``(old, kept as)`` renames.
    """
    lab = get(number)
    os.makedirs(directory, exist_ok=True)
    files = {os.path.join(directory, f"{lab.stem}.py"): lab.text("solution.py"),
             os.path.join(directory, f"{lab.stem}_answers.md"): lab.text("answers.md")}
    written, kept = [], []
    for path, text in files.items():
        if os.path.exists(path):
            with open(path, encoding="utf-8", errors="replace") as f:
                same = f.read() == text
            if not same:
                backup, k = f"{path}.bak", 1
                while os.path.exists(backup):
                    k += 1
                    backup = f"{path}.bak{k}"
                os.replace(path, backup)
                kept.append((path, backup))
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        written.append(path)
    return written, kept


# --------------------------------------------------------------- notebook
def _md_sections(sheet: str) -> list[str]:
    """The sheet cut before every ``##`` and ``###`` heading."""
    cells, current = [], []
    for line in sheet.splitlines(keepends=True):
        if line.startswith("## ") or line.startswith("### "):
            if "".join(current).strip():
                cells.append("".join(current))
            current = []
        current.append(line)
    if "".join(current).strip():
        cells.append("".join(current))
    return cells


def _code_blocks(skeleton: str, functions: list[str]) -> tuple[str, dict]:
    """The skeleton split into its preamble and one block per task function."""
    tree = ast.parse(skeleton)
    lines = skeleton.splitlines(keepends=True)
    spans = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name in functions:
            first = min([node.lineno] + [d.lineno for d in node.decorator_list]) - 1
            spans[node.name] = (first, node.end_lineno)
    taken = set()
    blocks = {}
    for name, (a, b) in spans.items():
        blocks[name] = "".join(lines[a:b]).rstrip() + "\n"
        taken.update(range(a, b))
    rest = "".join(line for i, line in enumerate(lines) if i not in taken)
    while "\n\n\n\n" in rest:
        rest = rest.replace("\n\n\n\n", "\n\n\n")
    return rest.strip() + "\n", blocks


def make_notebook(lab: Lab) -> dict:
    """A Jupyter notebook (nbformat 4, plain JSON) of the sheet and the skeleton.

    Markdown cells hold the sheet; after each task's text comes a code cell
    with that task's function; the first code cell holds the skeleton's
    imports and helpers; the last cell runs the checker on the notebook.
    """
    functions = lab.functions
    preamble, blocks = _code_blocks(lab.text("skeleton.py"), functions)
    cells = []

    def md(text):
        cells.append({"cell_type": "markdown", "metadata": {}, "source": text.splitlines(keepends=True)})

    def code(text):
        cells.append({"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                      "source": text.rstrip("\n").splitlines(keepends=True)})

    placed = set()
    preamble_done = False
    for section in _md_sections(lab.text("sheet.md")):
        heading = section.splitlines()[0]
        if heading.startswith("## Check your work"):
            continue  # the sheet's command-line instructions; the notebook ends with its own check cell
        task = next((f for f in functions if f"`{f}`" in heading and heading.startswith("### ")), None)
        if task is not None and not preamble_done:
            code(preamble)
            preamble_done = True
        md(section)
        if task is not None and task not in placed:
            code(blocks[task])
            placed.add(task)
    if not preamble_done:
        code(preamble)
    for f in functions:  # a task the sheet has no heading for still gets its cell
        if f not in placed:
            code(blocks[f])
    md("## Check your work\n\nRun the cell below after each task: it checks every function defined above, "
       f"with the same checks as `lmtrain lab check {lab.number}`. A FAIL names the chapter equation that the "
       "smallest failing case breaks and prints that case.\n")
    code(f"from lmtrain import labs\nlabs.check_notebook({lab.number}, globals())\n")
    for i, cell in enumerate(cells):
        cell["id"] = f"lab{lab.number}-{i:02d}"
    return {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def notebook(number) -> dict:
    """The notebook of lab ``number`` as a JSON-ready dict (see :func:`make_notebook`)."""
    return make_notebook(get(number))
