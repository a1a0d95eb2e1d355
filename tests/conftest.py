"""Shared test set-up: hypothesis profiles, the end-of-session error summary, and a
guard that the committed ``figures/`` come out of the session byte for byte as
they went in (every test writes to a temporary folder).

Profiles (``deadline=None`` everywhere: the first call of a kernel compiles it):

* ``dev``      10 examples per property, the default locally;
* ``ci``       60 examples, the default when the ``CI`` environment variable is set;
* ``intense``  1000 examples, for a thorough run before a release.

Choose one with ``LMTRAIN_HYPOTHESIS_PROFILE=intense pytest``.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

import reference

#: the committed outputs of the chapter scripts' full runs
FIGURES = Path(__file__).resolve().parent.parent / "figures"


def tree_digest(folder: Path) -> dict:
    """``{relative path: sha256}`` of every file below ``folder`` (empty when it does not exist)."""
    if not folder.is_dir():
        return {}
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="session", autouse=True)
def figures_untouched():
    """Fail the session if any test added, removed or changed a file in ``figures/``."""
    before = tree_digest(FIGURES)
    yield
    after = tree_digest(FIGURES)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert not changed, f"the test suite changed the committed figures/: {changed}"

_COMMON = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=10, **_COMMON)
settings.register_profile("ci", max_examples=60, print_blob=True, **_COMMON)
settings.register_profile("intense", max_examples=1000, print_blob=True, **_COMMON)

PROFILE = os.environ.get("LMTRAIN_HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
settings.load_profile(PROFILE)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "interpreted: runs the kernels as plain Python (NUMBA_DISABLE_JIT=1) in a subprocess"
    )


def pytest_report_header(config):
    return f"lmtrain hypothesis profile: {PROFILE} (max_examples={settings.default.max_examples})"


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    rec = reference.FD_RECORD
    if rec.count:
        terminalreporter.write_sep("-", "Jacobian vs central finite differences")
        terminalreporter.write_line(
            f"largest relative error seen over {rec.count} examples: {rec.worst:.3e}"
            + (f" (at {rec.where})" if rec.where else "")
        )
