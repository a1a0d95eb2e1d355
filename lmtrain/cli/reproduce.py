"""``lmtrain reproduce``: run every chapter script and say what each one wrote.

The scripts live in ``chapters/`` beside the package in the source tree (an
editable install, ``pip install -e .``), one per figure or table of the chapter;
each has ``main(argv) -> int`` and accepts ``--quick`` and ``--out``. They run
in a fixed order — Table 12.1 and Figs. 12.1 to 12.7 first, then the
experiment scripts — inside this process, so the compiled kernels are loaded
once; meanwhile a second process compiles (or loads) the kernel that runs EBP
trials in lanes, so that with an empty Numba cache the two compiles overlap.

Full runs write to ``figures/`` beside ``chapters/``, the committed outputs. A
``--quick`` run without ``--out`` writes to a new temporary folder and says
where, so it never replaces a committed file. What a script prints is its
report (for instance this run's times, which never go into the tables):
it is shown under the script's line, without the lines that only name a file
already listed as written. Only the scripts that ran are reported.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

#: scripts that run first, in this order (the chapter's order, then the experiments); others follow alphabetically
ORDER = ["table_12_1", "fig_12_1", "fig_12_2", "fig_12_3", "fig_12_4", "fig_12_5", "fig_12_6", "fig_12_7",
         "setup_study", "fig_12_8", "parity_n", "limit_inversion", "limit_memory", "limit_topology"]


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
        names = [Path(o).stem if o.endswith(".py") else o for o in args.only]
        known = [n for n, _ in scripts]
        unknown = [o for o, n in zip(args.only, names) if n not in known]
        if unknown:
            raise UsageError(f"--only {' '.join(unknown)}: no such chapter script; available: {', '.join(known)}")
        scripts = [(n, p) for n, p in scripts if n in names]
    if args.out is not None:
        out = Path(args.out).resolve()
    elif args.quick:
        out = Path(tempfile.mkdtemp(prefix="lmtrain-quick-"))
    else:
        out = folder.parent / "figures"
    out.mkdir(parents=True, exist_ok=True)
    argv = ["--out", str(out)] + (["--quick"] if args.quick else [])
    if args.seed is not None:
        argv += ["--seed", str(args.seed)]
    # for the whole set of chapter scripts, the trial loops compile in two more
    # processes while the first scripts draw (a no-op with a warm cache)
    warm = _warm_in_background() if args.only is None and args.chapters is None else None
    try:
        return _run_scripts(args, folder, scripts, out, argv, warm)
    finally:
        for proc in warm or ():
            _wait(proc, 60)


def _wait(proc, timeout: float = 600.0) -> None:
    """Wait for the background compilation; after ``timeout`` seconds go on without it."""
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()


#: what each background process compiles (:func:`lmtrain.experiments.warm_up`): the trial loops
#: of LM and Gauss–Newton and the blocked path in one, EBP's loop and its lanes in the other
WARM_UP = ('warm_up(loop=("lm", "gauss_newton"), lanes=False, blocks=True)', 'warm_up(loop=("ebp",), lanes=True)')


def _warm_in_background() -> list:
    """Start compiling the trial loops in two other Python processes (:data:`WARM_UP`).

    With an empty Numba cache they compile there while the first scripts
    draw, so that both cores compile; with a warm cache they only load it.
    Returns the processes started (none if they cannot start).
    """
    procs = []
    for call in WARM_UP:
        try:
            procs.append(subprocess.Popen([sys.executable, "-c", f"from lmtrain.experiments import warm_up; {call}"],
                                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL))
        except OSError:
            pass
    return procs


def _names_a_written_file(line: str, written: list) -> bool:
    """True when ``line`` only names one of the ``written`` files (``path`` or ``wrote path``)."""
    text = line.strip()
    if text.startswith("wrote "):
        text = text[len("wrote "):].strip()
    if not text or "\n" in text:
        return False
    try:
        path = Path(text).resolve()
    except (OSError, ValueError):
        return False
    return path in written


def _report(captured: str, written: list) -> list[str]:
    """A script's printed output as report lines, without those that only name a written file."""
    lines = [ln.rstrip() for ln in captured.splitlines()]
    lines = [ln for ln in lines if not _names_a_written_file(ln, written)]
    while lines and not lines[-1]:
        lines.pop()
    return lines


#: the first script that runs many trials: the background compilation must be done by then
FIRST_TRIALS = "setup_study"


def _run_scripts(args, folder, scripts, out, argv, warm=None) -> int:
    """Run ``scripts`` one after another; report what each wrote and printed.

    ``warm`` lists the background processes compiling the trial loops: before
    :data:`FIRST_TRIALS` runs they are waited for, so that the loops are loaded
    from the cache they wrote rather than compiled a second time.
    """
    mode = "quick mode" if args.quick else "full runs"
    print(f"lmtrain reproduce: {len(scripts)} chapter script(s) from {_show(folder)} ({mode}), writing to {_show(out)}")
    if args.quick and args.out is None:
        print("      (a temporary folder: quick runs never replace the full runs in figures/)")
    failed, total_files, t_all, times = [], 0, time.perf_counter(), {}
    for i, (name, path) in enumerate(scripts, 1):
        t0 = time.perf_counter()
        if name == FIRST_TRIALS and warm:
            # while the other processes finish the trial loops, compile here what later
            # scripts would otherwise compile alone, with the other core idle
            from ..experiments import warm_up

            warm_up(loop=(), lanes=False, plain=True)
            for proc in warm:
                _wait(proc)
        before = _snapshot(out)
        captured = io.StringIO()
        try:
            module = load(path)
            with contextlib.redirect_stdout(captured if not args.verbose else sys.stdout):
                code = int(module.main(argv) or 0)
        except Exception:  # a failing script is a bug to see in full, then the others still run
            traceback.print_exc()
            code = 1
        seconds = time.perf_counter() - t0
        times[name] = seconds
        after = _snapshot(out)
        written = sorted(p for p, m in after.items() if before.get(p) != m)
        total_files += len(written)
        status = "ok" if code == 0 else f"FAILED (exit {code})"
        print(f"[{i}/{len(scripts)}] {name:<18} {seconds:7.1f} s  {status}")
        for p in written:
            print(f"      wrote {_show(p)}")
        if code != 0:
            failed.append(name)
        if not args.verbose:
            for line in _report(captured.getvalue(), [p.resolve() for p in written]):
                print(f"      {line}" if line else "")
    print(f"done in {time.perf_counter() - t_all:.1f} s: {len(scripts) - len(failed)} of {len(scripts)} script(s) "
          f"ran, {total_files} file(s) written" + (f"; failed: {', '.join(failed)}" if failed else ""))
    if len(times) > 1:
        longest = sorted(times.items(), key=lambda kv: -kv[1])[:3]
        print("longest: " + ", ".join(f"{n} {t:.1f} s" for n, t in longest))
    return 1 if failed else 0


def register(sub) -> None:
    p = sub.add_parser("reproduce", help="regenerate the chapter's figures and tables (chapters/ scripts)",
                       description="Run the chapter scripts in chapters/ and report, for each, the files it wrote and "
                                   "what it printed (this run's times, for instance). Full runs write to figures/ "
                                   "beside chapters/, the committed outputs; --quick runs never do.")
    p.add_argument("--quick", action="store_true",
                   help="small, fast runs, as the tests use; without --out they write to a new temporary folder")
    p.add_argument("--only", metavar="NAME", nargs="+",
                   help="run only these scripts, e.g. fig_12_1 (and report only what they wrote and printed)")
    p.add_argument("--list", action="store_true", help="list the scripts and exit")
    p.add_argument("--out", metavar="DIR",
                   help="write there (default: figures/ beside chapters/ for full runs, a temporary folder "
                        "for --quick)")
    p.add_argument("--seed", type=int, default=None, help="seed passed to every script (default: theirs, 0)")
    p.add_argument("--chapters", metavar="DIR",
                   help="folder of the chapter scripts (default: found beside the package)")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="show what the scripts print as they run, unfiltered (by default it follows each script)")
    p.set_defaults(func=_run)
