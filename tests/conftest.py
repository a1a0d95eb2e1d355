"""Shared test set-up: hypothesis profiles and the end-of-session error summary.

Profiles (``deadline=None`` everywhere: the first call of a kernel compiles it):

* ``dev``      10 examples per property, the default locally;
* ``ci``       60 examples, the default when the ``CI`` environment variable is set;
* ``intense``  1000 examples, for a thorough run before a release.

Choose one with ``LMTRAIN_HYPOTHESIS_PROFILE=intense pytest``.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

import reference

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
