"""``lmtrain reproduce``: run every chapter script and say what each one wrote.

The scripts live in ``chapters/`` beside the package in the source tree (an
editable install, ``pip install -e .``), one per figure or table of the chapter;
each has ``main(argv) -> int`` and accepts ``--quick`` and ``--out``. They run
in a fixed order — Table 12.1 and Figs. 12.1, 12.6, 12.7 first, then the
experiment scripts — inside this process, so the compiled kernels are loaded
once; meanwhile a second process compiles (or loads) the kernel that runs EBP
trials in lanes, so that with an empty Numba cache the two compiles overlap.
At the end the Table 12.2 comparison is printed when a script wrote it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path

#: scripts that run first, in this order; any others follow in this order, then alphabetically
ORDER = ["table_12_1", "fig_12_1", "fig_12_6", "fig_12_7", "setup_study", "fig_12_8", "parity_n",
         "limit_inversion", "limit_memory", "limit_topology"]


def chapters_dir(explicit=None) -> Path:
    """The ``chapters/`` folder of the source tree, or ``explicit`` when given.

    Raises ``UsageError`` (one line, exit 2) when it cannot be found, e.g. after
    a non-editable install that copied only the package.
    """
    from ._common import UsageError

    if explicit is not None:
        path = Path(explicit)
        if not path.is_dir():
            raise UsageError(f"--chapters {explicit}: no such folder")
        return path.resolve()
    path = Path(__file__).resolve().parents[2] / "chapters"
    if not path.is_dir():
        raise UsageError(
            f"cannot find the chapter scripts (looked for {path}); install from a clone with "
            "'pip install -e .' or give --chapters DIR"
        )
    return path


def discover(folder: Path) -> list[tuple[str, Path]]:
    """``(name, path)`` of every ``*.py`` in ``folder`` not starting with ``_``, in run order."""
    found = {p.stem: p for p in folder.glob("*.py") if not p.name.startswith("_")}
    first = [n for n in ORDER if n in found]
    rest = sorted(n for n in found if n not in ORDER)
    return [(n, found[n]) for n in first + rest]


def load(path: Path):
    """Import a chapter script as a module (its folder goes on ``sys.path`` for ``import _common``)."""
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location(f"lmtrain_chapter_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not callable(getattr(module, "main", None)):
        raise AttributeError(f"{path.name} has no main(argv) function")
    return module


def _snapshot(folder: Path) -> dict:
    if not folder.is_dir():
        return {}
    return {p: p.stat().st_mtime_ns for p in folder.iterdir() if p.is_file()}


def _show(path: Path) -> str:
    """``path`` relative to the working directory when it lies below it, else absolute."""
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)
    return str(path) if rel.startswith("..") else rel


def _run(args) -> int:
    from ._common import UsageError

    folder = chapters_dir(args.chapters)
    scripts = discover(folder)
    if args.list:
        for name, path in scripts:
            doc = (load(path).__doc__ or "").strip().splitlines()
            print(f"{name:<18} {doc[0] if doc else ''}")
        return 0
    if args.only is not None:
        name = Path(args.only).stem if args.only.endswith(".py") else args.only
        scripts = [(n, p) for n, p in scripts if n == name]
        if not scripts:
            known = ", ".join(n for n, _ in discover(folder))
            raise UsageError(f"--only {args.only}: no such chapter script; available: {known}")
    out = Path(args.out).resolve() if args.out is not None else folder / "figures"
    out.mkdir(parents=True, exist_ok=True)
    argv = ["--out", str(out)] + (["--quick"] if args.quick else [])
    if args.seed is not None:
        argv += ["--seed", str(args.seed)]
    # for the whole set of chapter scripts, the EBP lanes compile in a second
    # process meanwhile (a no-op with a warm cache)
    warm = _warm_in_background() if args.only is None and args.chapters is None else None
    try:
        return _run_scripts(args, folder, scripts, out, argv)
    finally:
        if warm is not None:
            try:
                warm.wait(timeout=60)
            except subprocess.TimeoutExpired:
                warm.kill()


def _warm_in_background():
    """Start :func:`lmtrain.experiments.warm_up` in another Python process; None if it cannot start."""
    try:
        return subprocess.Popen([sys.executable, "-c", "from lmtrain.experiments import warm_up; warm_up()"],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError:
        return None


def _run_scripts(args, folder, scripts, out, argv) -> int:
    """Run ``scripts`` one after another, report what each wrote, print Table 12.2 if written."""
    mode = "quick mode" if args.quick else "full runs"
    print(f"lmtrain reproduce: {len(scripts)} chapter script(s) from {_show(folder)} ({mode}), writing to {_show(out)}")
    failed, total_files, t_all = [], 0, time.perf_counter()
    for i, (name, path) in enumerate(scripts, 1):
        before = _snapshot(out)
        t0 = time.perf_counter()
        captured = io.StringIO()
        try:
            module = load(path)
            with contextlib.redirect_stdout(captured if not args.verbose else sys.stdout):
                code = int(module.main(argv) or 0)
        except Exception:  # a failing script is a bug to see in full, then the others still run
            traceback.print_exc()
            code = 1
        seconds = time.perf_counter() - t0
        after = _snapshot(out)
        written = sorted(p for p, m in after.items() if before.get(p) != m)
        total_files += len(written)
        status = "ok" if code == 0 else f"FAILED (exit {code})"
        print(f"[{i}/{len(scripts)}] {name:<18} {seconds:7.1f} s  {status}")
        for p in written:
            print(f"      wrote {_show(p)}")
        if code != 0:
            failed.append(name)
            if not args.verbose and captured.getvalue():
                print(captured.getvalue().rstrip())
    print(f"done in {time.perf_counter() - t_all:.1f} s: {len(scripts) - len(failed)} of {len(scripts)} script(s) "
          f"ran, {total_files} file(s) written" + (f"; failed: {', '.join(failed)}" if failed else ""))
    table = out / "table_12_2.md"
    if table.is_file():
        print(f"\nTable 12.2, parity-3 comparison ({_show(table)}):")
        print(table.read_text(encoding="utf-8").rstrip())
    return 1 if failed else 0


def register(sub) -> None:
    p = sub.add_parser("reproduce", help="regenerate the chapter's figures and tables (chapters/ scripts)",
                       description="Run the chapter scripts in chapters/ and report the files they write.")
    p.add_argument("--quick", action="store_true", help="small, fast runs (as the tests use)")
    p.add_argument("--only", metavar="NAME", help="run one script, e.g. fig_12_1")
    p.add_argument("--list", action="store_true", help="list the scripts and exit")
    p.add_argument("--out", metavar="DIR", help="write there instead of chapters/figures")
    p.add_argument("--seed", type=int, default=None, help="seed passed to every script (default: theirs, 0)")
    p.add_argument("--chapters", metavar="DIR",
                   help="folder of the chapter scripts (default: found beside the package)")
    p.add_argument("-v", "--verbose", action="store_true", help="show what the scripts print")
    p.set_defaults(func=_run)
