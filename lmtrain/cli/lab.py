"""``lmtrain lab``: the teaching labs — list them, start one, check a student's
file, write the reference solution."""

from __future__ import annotations

import os


def _lab(number):
    from .. import labs
    from ._common import UsageError

    try:
        return labs.get(number)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _list(args) -> int:
    from .. import labs

    width = max(len(lab.title) for lab in labs.LABS)
    print("The labs follow the chapter; 'lmtrain lab start N' writes lab N's sheet and skeleton here.")
    for lab in labs.LABS:
        minutes = f"~{lab.minutes} min"
        print(f"{lab.number:>3}  {lab.title:<{width}}  {minutes:>7}  {lab.covers}")
    return 0


def _start(args) -> int:
    from .. import labs
    from ._common import UsageError

    lab = _lab(args.number)
    if os.path.exists(args.dir) and not os.path.isdir(args.dir):
        raise UsageError(f"{args.dir!r} is a file, not a directory")
    try:
        written = labs.start(lab.number, args.dir, notebook=args.notebook)
    except FileExistsError as exc:
        raise UsageError(str(exc)) from None
    print(f"lab {lab.number}, {lab.title}: wrote")
    for path in written:
        print(f"  {path}")
    script = os.path.relpath(written[1])
    print(f"Read the sheet, fill in the TODOs, then run: lmtrain lab check {lab.number}"
          + ("" if os.path.dirname(script) == "" else f" {script}"))
    return 0


def _check(args) -> int:
    from .. import labs
    from ._common import UsageError

    lab = _lab(args.number)
    path = args.file or f"{lab.stem}.py"
    if not os.path.isfile(path):
        if args.file is None:
            raise UsageError(f"no {path} in this directory: run 'lmtrain lab start {lab.number}' first, "
                             f"or name the file: lmtrain lab check {lab.number} FILE")
        raise UsageError(f"no file {path!r}")
    report = labs.check(lab.number, path)
    print(report.text())
    return 0 if report.passed else 1


def _solution(args) -> int:
    from .. import labs
    from ._common import UsageError

    lab = _lab(args.number)
    if os.path.exists(args.dir) and not os.path.isdir(args.dir):
        raise UsageError(f"{args.dir!r} is a file, not a directory")
    written, kept = labs.write_solution(lab.number, args.dir)
    for old, backup in kept:
        print(f"kept the existing {os.path.basename(old)} as {os.path.basename(backup)}")
    print(f"lab {lab.number}, {lab.title}: reference solution and answers written (for teachers)")
    for path in written:
        print(f"  {path}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("lab", help="teaching labs: list, start, check your work, reference solutions",
                       description="Seven labs that follow the chapter. Each has a sheet (Markdown), a skeleton "
                                   "to fill in, and a checker that names the equation a wrong answer breaks.")
    actions = p.add_subparsers(dest="action", required=True, metavar="action")

    a = actions.add_parser("list", help="the labs, the chapter sections they cover and their length")
    a.set_defaults(func=_list)

    a = actions.add_parser("start", help="write lab N's sheet and skeleton into DIR (never overwrites)")
    a.add_argument("number", help="lab number, 1-7")
    a.add_argument("dir", nargs="?", default=".", help="directory to write into (default: here)")
    a.add_argument("--notebook", action="store_true", help="also write a Jupyter notebook of the lab")
    a.set_defaults(func=_start)

    a = actions.add_parser("check", help="check your functions; exit status 0 only when all pass")
    a.add_argument("number", help="lab number, 1-7")
    a.add_argument("file", nargs="?", default=None, help="your file (default: labN_<name>.py here)")
    a.set_defaults(func=_check)

    a = actions.add_parser("solution", help="write the reference solution and the answers into DIR (teachers)")
    a.add_argument("number", help="lab number, 1-7")
    a.add_argument("dir", nargs="?", default=".", help="directory to write into (default: here)")
    a.set_defaults(func=_solution)
