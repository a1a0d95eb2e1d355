"""Run a lab's checks on a student's file or notebook namespace, one outcome per function.

Nothing the student wrote can crash the run: a syntax error, a failing import,
a missing function, an exception or an endless loop is reported as the
outcome of each function it affects.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field

from . import _kit


@dataclass
class Outcome:
    """The verdict on one student function."""

    function: str
    passed: bool
    summary: str  # one line: what was checked, or the equation and what is wrong
    details: list = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class Report:
    """Outcomes of one ``lab check``; ``passed`` only when every function passes."""

    lab: object
    source: str
    outcomes: list

    @property
    def passed(self) -> bool:
        return all(o.passed for o in self.outcomes)

    def text(self) -> str:
        width = max(len(o.function) for o in self.outcomes)
        lines = [f"lab {self.lab.number}, {self.lab.title}: checking {self.source}"]
        for o in self.outcomes:
            lines.append(f"  {'PASS' if o.passed else 'FAIL'}  {o.function:<{width}}  {o.summary}")
            lines.extend(f"        {d}" for d in o.details)
        n_ok = sum(o.passed for o in self.outcomes)
        end = "all pass." if self.passed else "fix the first FAIL and check again."
        lines.append(f"{n_ok} of {len(self.outcomes)} functions pass: {end}")
        return "\n".join(lines)

    def __str__(self):
        return self.text()


def load_file(path: str):
    """Execute the student's file; returns ``(namespace, None)`` or ``(None, why it failed)``."""
    path = os.path.abspath(path)
    try:
        with open(path, encoding="utf-8") as f:
            source = f.read()
    except UnicodeDecodeError as exc:
        return None, f"the file is not UTF-8 text ({exc.reason} at byte {exc.start})"
    try:
        code = compile(source, path, "exec")
    except SyntaxError as exc:
        where = f" at line {exc.lineno}" if exc.lineno else ""
        text = f": {exc.text.strip()}" if exc.text and exc.text.strip() else ""
        return None, f"the file does not compile: {type(exc).__name__}{where} ({exc.msg}){text}"
    namespace = {"__name__": "lab_student", "__file__": path, "__builtins__": __builtins__}
    _kit.STUDENT_FILES.add(path)
    try:
        _kit.call(exec, code, namespace)
    except _kit.StudentError as exc:
        return None, f"importing the file failed: {exc.message}"
    except SystemExit:
        return None, "importing the file failed: it calls exit() at import time"
    return namespace, None


def run(lab, namespace: dict | None, load_error: str | None, source: str) -> Report:
    """Check every function of ``lab`` found in ``namespace``."""
    checker = lab.checker()
    for value in (namespace or {}).values():
        code = getattr(value, "__code__", None)
        if code is not None:
            _kit.STUDENT_FILES.add(code.co_filename)
    prepared = False
    outcomes = []
    for name, check in checker.CHECKS.items():
        t0 = time.perf_counter()
        if load_error is not None:
            outcomes.append(Outcome(name, False, f"not checked: {load_error}"))
            continue
        fn = namespace.get(name)
        if fn is None:
            outcomes.append(Outcome(name, False, f"missing: there is no function named {name!r}"))
            continue
        if not callable(fn):
            outcomes.append(Outcome(name, False, f"{name!r} is not a function (its value is {fn!r:.40})"))
            continue
        if not prepared:
            # compile the engine's kernels before any student code runs under the time limit
            getattr(checker, "prepare", lambda: None)()
            prepared = True
        try:
            note = check(fn)
            outcomes.append(Outcome(name, True, note))
        except _kit.Failure as f:
            summary = f"{f.equation}: {f.message}" if f.equation else f.message
            outcomes.append(Outcome(name, False, summary, f.details))
        except _kit.StudentError as e:
            outcomes.append(Outcome(name, False, e.message, e.details))
        except RecursionError:
            outcomes.append(Outcome(name, False, "raised RecursionError (a function that calls itself?)"))
        except Exception as exc:  # a fault of the checker itself: still one line, never a traceback
            outcomes.append(Outcome(name, False, f"the checker itself failed ({type(exc).__name__}: {exc}); "
                                                 f"please report this to the lmtrain maintainers"))
        outcomes[-1].seconds = time.perf_counter() - t0
        if outcomes[-1].details and any(not o.passed for o in outcomes[:-1]):
            # later functions usually call earlier ones: the first FAIL is the one to read
            outcomes[-1].details.append("(an earlier function fails too: this may be the same mistake)")
    return Report(lab, source, outcomes)


def check_file(lab, path: str) -> Report:
    """Load ``path`` and check it; the directory of the file is importable while it runs."""
    path = os.path.abspath(path)
    folder = os.path.dirname(path)
    saved_path, saved_flag = list(sys.path), sys.dont_write_bytecode
    sys.path.insert(0, folder)  # the student's own helper modules beside the file
    sys.dont_write_bytecode = True  # leave no __pycache__ in the student's folder
    try:
        namespace, error = load_file(path)
        return run(lab, namespace, error, os.path.basename(path))
    finally:
        sys.path[:] = saved_path
        sys.dont_write_bytecode = saved_flag


def check_namespace(lab, namespace: dict, source: str = "this notebook") -> Report:
    """Check the functions defined in a notebook (its ``globals()``)."""
    return run(lab, dict(namespace), None, source)
