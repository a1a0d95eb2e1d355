"""Validation stopping (max_fail), the progress line and the training figures.

Oracles: a Python replay of the max_fail rule on the recorded validation
errors, validation errors recomputed with NumPy from the network's forward
pass, weight trajectories recorded by a callback, and plain (unwatched)
training, which watched training must reproduce exactly.
"""

from __future__ import annotations

import io
import sys

import matplotlib

matplotlib.use("Agg", force=True)

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import lmtrain as lm  # noqa: E402
from lmtrain.monitor import ProgressLine  # noqa: E402
from lmtrain.result import StopReason  # noqa: E402


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def noisy_sine(seed=3):
    rng = np.random.default_rng(seed)
    X = np.sort(rng.uniform(-1, 1, 20))[:, None]
    D = np.sin(3 * X) + 0.2 * rng.standard_normal(X.shape)
    Xv = np.sort(rng.uniform(-1, 1, 20))[:, None]
    Dv = np.sin(3 * Xv) + 0.2 * rng.standard_normal(Xv.shape)
    return X, D, Xv, Dv


NET = lm.mlp([1, 10, 1], output_activation="linear")


def half_sse(net, w, X, D):
    """E = ½Σ(d − o)² from the public forward pass (independent of the compiled error kernel)."""
    return 0.5 * float(np.sum((np.asarray(D) - net.forward(w, X)) ** 2))


def replay_max_fail(v0, v, max_fail):
    """The rule in plain Python: (stop iteration or None, best iteration; 0 = initial weights)."""
    best, best_k, fails = v0, 0, 0
    for k, ev in enumerate(v, start=1):
        if ev < best:
            best, best_k, fails = ev, k, 0
        elif ev > best:
            fails += 1
        if fails >= max_fail:
            return k, best_k
    return None, best_k


# ------------------------------------------------------------ validation

@pytest.mark.parametrize("seed,max_fail", [(0, 4), (2, 2), (3, 6)])
def test_validation_stop_matches_replay(seed, max_fail):
    X, D, Xv, Dv = noisy_sine()
    w0 = NET.init_weights(seed)
    traj = [w0.copy()]
    r = lm.train(NET, X, D, w0=w0, validation=(Xv, Dv), max_fail=max_fail, max_iter=300,
                 callback=lambda rec: traj.append(rec.weights.copy()))
    v = r.history.validation_error
    assert len(v) == r.iterations and np.all(np.isfinite(v))
    # recorded validation errors are E on the validation data at each iterate
    np.testing.assert_allclose(v, [half_sse(NET, w, Xv, Dv) for w in traj[1:]], rtol=1e-10)
    stop_k, best_k = replay_max_fail(half_sse(NET, w0, Xv, Dv), v, max_fail)
    assert stop_k == r.iterations
    assert r.stop_reason is StopReason.VALIDATION and not r.success
    # best weights returned; their validation error is the minimum seen
    np.testing.assert_array_equal(r.weights, traj[best_k])
    assert half_sse(NET, r.weights, Xv, Dv) == pytest.approx(min(v.min(), half_sse(NET, w0, Xv, Dv)), rel=1e-10)
    # result.error is the training error at the returned weights
    assert r.error == pytest.approx(half_sse(NET, r.weights, X, D), rel=1e-10)


def test_validation_does_not_change_the_training_path():
    X, D, Xv, Dv = noisy_sine()
    w0 = NET.init_weights(0)
    watched = lm.train(NET, X, D, w0=w0, validation=(Xv, Dv), max_fail=4, max_iter=300)
    plain = lm.train(NET, X, D, w0=w0, max_iter=watched.iterations)
    assert plain.iterations == watched.iterations
    np.testing.assert_array_equal(plain.history.error, watched.history.error)
    np.testing.assert_array_equal(plain.history.mu, watched.history.mu)
    assert np.all(np.isnan(plain.history.validation_error))


def test_initial_weights_can_be_the_best():
    X, D, Xv, _ = noisy_sine()
    w0 = NET.init_weights(1)
    Dv = NET.forward(w0, Xv)  # validation error 0 at w0: every change is worse
    r = lm.train(NET, X, D, w0=w0, validation=(Xv, Dv), max_fail=3, max_iter=100)
    assert r.stop_reason is StopReason.VALIDATION and r.iterations == 3
    np.testing.assert_array_equal(r.weights, w0)
    assert r.error == pytest.approx(r.initial_error, rel=1e-12)


def test_validation_with_ebp_and_callback_record():
    X, D, Xv, Dv = noisy_sine()
    seen = []
    r = lm.train(NET, X, D, algorithm="ebp", seed=0, alpha=0.01, max_iter=50, validation=(Xv, Dv), max_fail=1000,
                 callback=lambda rec: seen.append(rec.validation_error))
    assert r.stop_reason is StopReason.MAX_ITER
    np.testing.assert_array_equal(seen, r.history.validation_error)


def test_validation_arguments_are_checked():
    X, D, Xv, Dv = noisy_sine()
    with pytest.raises(ValueError, match="max_fail"):
        lm.train(NET, X, D, seed=0, validation=(Xv, Dv), max_fail=0)
    with pytest.raises(TypeError, match="validation"):
        lm.train(NET, X, D, seed=0, validation=Xv)
    with pytest.raises(ValueError, match="validation"):
        lm.train(NET, X, D, seed=0, validation=(Xv, Dv[:-1]))
    with pytest.raises(ValueError, match="validation"):
        lm.train(NET, X, D, seed=0, validation=(np.c_[Xv, Xv], Dv))


# ------------------------------------------------------------ progress

def test_no_progress_when_stderr_is_not_a_terminal(monkeypatch):
    X, D = lm.datasets.parity(3)
    net = lm.mlp([3, 3, 1], gain=0.5)
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    lm.train(net, X, D, seed=0, goal=0.01)  # progress=None: automatic
    lm.train(net, X, D, seed=0, goal=0.01, progress=False)
    assert err.getvalue() == ""


def test_automatic_progress_stays_quiet_for_short_runs_on_a_terminal(monkeypatch):
    X, D = lm.datasets.parity(3)
    net = lm.mlp([3, 3, 1], gain=0.5)
    term = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", term)
    r = lm.train(net, X, D, seed=0, goal=0.01)
    assert r.success and term.getvalue() == ""  # a run of milliseconds shows nothing


@pytest.mark.parametrize("algorithm, net_sizes, opts", [
    ("lm", [7, 7, 1], dict(max_iter=40)),
    ("lm", [7, 7, 1], dict(strict=True, max_iter=30)),
    ("gauss_newton", [7, 7, 1], dict(max_iter=20)),
    ("newton", [3, 3, 1], dict(indefinite="step", max_iter=200)),
    ("ebp", [3, 3, 1], dict(alpha=1.0)),
])
def test_runs_continue_exactly_after_their_first_slice(monkeypatch, algorithm, net_sizes, opts):
    # train() runs its one compiled call for at most one time slice (so that
    # Ctrl-C is noticed), and a longer run continues in slices, with the
    # automatic line on a terminal. A tiny slice cuts every run there: the
    # result must be that of one uninterrupted call (history times aside), and
    # the continuation must really have happened.
    import lmtrain.algorithms as algorithms
    from lmtrain.algorithms import run as run_module
    from lmtrain.algorithms import watch

    X, D = lm.datasets.parity(net_sizes[0])
    net = lm.mlp(net_sizes, gain=0.5)
    plain = [lm.train(net, X, D, algorithm, seed=s, goal=0.01, progress=False, **opts) for s in range(4)]
    resumed = []
    real = algorithms.train

    def spy(*args, **kw):
        if kw.get("resume") is not None:
            resumed.append(kw["resume"].iterations)  # iterations done before the slice ran out
        return real(*args, **kw)

    term = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", term)
    monkeypatch.setattr(algorithms, "train", spy)
    for budget in (1e-6, 2e-5, 3e-4):  # seconds: cut after the first iteration(s), or a few later
        monkeypatch.setattr(run_module, "SLICE", budget)
        monkeypatch.setattr(watch, "SLICE", budget)
        monkeypatch.setattr(run_module, "_PLANS", {})
        for s, a in enumerate(plain):
            b = lm.train(net, X, D, algorithm, seed=s, goal=0.01, **opts)
            assert (b.iterations, b.stop_reason, b.error, b.initial_error) == \
                   (a.iterations, a.stop_reason, a.error, a.initial_error)
            np.testing.assert_array_equal(b.weights, a.weights)
            for f in ("error", "mu", "gradient_norm", "rejected", "forced"):
                np.testing.assert_array_equal(getattr(b.history, f), getattr(a.history, f))
            assert np.all(np.diff(b.history.time) >= 0)
    assert len(resumed) >= 4 and max(resumed) >= 1


def test_forced_progress_on_a_terminal_shows_iteration_and_error(monkeypatch):
    X, D = lm.datasets.parity(3)
    net = lm.mlp([3, 3, 1], gain=0.5)
    term = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", term)
    r = lm.train(net, X, D, seed=0, goal=0.01, progress=True)
    text = term.getvalue()
    assert text.startswith("\r") and text.endswith("\n")  # rewritten in place, ended once
    last = text.rstrip("\n").split("\r")[-1]
    assert f"iter {r.iterations:>6d}" in last
    assert f"E {r.error:.4e}" in last
    assert "mu " in last and "|g| " in last and "goal" in last


def test_progress_time_slices_reproduce_the_plain_run():
    # a tiny interval cuts the compiled loop into many slices; nothing else may change
    X, D = lm.datasets.parity(3)
    net = lm.mlp([3, 3, 1], gain=0.5)
    w0 = net.init_weights(0)
    out = io.StringIO()
    line = ProgressLine(out, interval=1e-5)
    opts = dict(algorithm="ebp", w0=w0, alpha=0.1, goal=0.0, max_iter=30_000)  # a few tens of ms
    sliced = lm.train(net, X, D, progress=line, **opts)
    plain = lm.train(net, X, D, **opts)
    assert sliced.iterations == plain.iterations and sliced.stop_reason == plain.stop_reason
    np.testing.assert_array_equal(sliced.weights, plain.weights)
    np.testing.assert_array_equal(sliced.history.error, plain.history.error)
    lines = out.getvalue().splitlines()
    assert len(lines) >= 2  # intermediate updates and the final line (not a terminal: one per line)
    its = [int(s.split()[1]) for s in lines]
    assert its == sorted(its) and its[-1] == plain.iterations


def test_progress_with_validation_and_line_format():
    X, D, Xv, Dv = noisy_sine()
    out = io.StringIO()
    r = lm.train(NET, X, D, seed=0, validation=(Xv, Dv), max_fail=4, progress=out)
    last = out.getvalue().splitlines()[-1]
    assert f"iter {r.iterations:>6d}" in last and "val " in last and "validation" in last
    text = ProgressLine.format(12, 3.5e-3, 1e-5, 2.25e-4)
    assert text.split() == ["iter", "12", "E", "3.5000e-03", "mu", "1.0e-05", "|g|", "2.25e-04"]
    with pytest.raises(TypeError, match="progress"):
        lm.train(NET, X, D, seed=0, progress="yes")


# ------------------------------------------------------------ figures

def test_plot_training_panels_and_data():
    X, D, Xv, Dv = noisy_sine()
    r = lm.train(NET, X, D, seed=0, validation=(Xv, Dv), max_fail=4)
    fig = lm.plot_training(r)
    try:
        axes = fig.axes
        assert len(axes) == 4  # E, μ, ‖g‖, rejected
        e_lines = axes[0].get_lines()
        x0, y0 = e_lines[0].get_data()
        np.testing.assert_array_equal(x0, np.arange(r.iterations + 1))
        np.testing.assert_allclose(y0, np.r_[r.initial_error, r.history.error])
        labels = [ln.get_label() for ln in e_lines]
        assert "validation" in labels
        np.testing.assert_allclose(axes[1].get_lines()[0].get_ydata(), r.history.mu)
        heights = [p.get_height() for p in axes[3].patches]
        np.testing.assert_array_equal(heights[: r.iterations], r.history.rejected)
        assert all(a.get_yscale() == "log" for a in axes[:3])
    finally:
        plt.close(fig)


def test_plot_training_without_mu_and_into_a_given_figure():
    X, D = lm.datasets.parity(3)
    net = lm.mlp([3, 3, 1], gain=0.5)
    r = lm.train(net, X, D, algorithm="ebp", seed=0, alpha=1.0, goal=0.01)
    fig = plt.figure()
    try:
        assert lm.plot_training(r, fig=fig) is fig
        assert len(fig.axes) == 3  # EBP has no μ
        fit = lm.curve_fit(lambda x, p: p[0] * x, np.arange(5.0), 2 * np.arange(5.0), [1.0])
        assert len(lm.plot_training(fit, fig=fig).axes) == 4
        with pytest.raises(TypeError, match="result"):
            lm.plot_training([1, 2, 3])
    finally:
        plt.close(fig)


def test_live_plot_holds_every_iteration_after_training():
    X, D, Xv, Dv = noisy_sine()
    live = lm.LivePlot(interval=3600.0)  # at most one redraw during training, then the final one
    try:
        r = lm.train(NET, X, D, seed=0, validation=(Xv, Dv), max_fail=4, callback=live)
        xs, ys = live.lines["error"].get_data()
        np.testing.assert_array_equal(xs, np.arange(1, r.iterations + 1))
        np.testing.assert_allclose(ys, r.history.error)
        np.testing.assert_allclose(live.lines["validation"].get_ydata(), r.history.validation_error)
        assert live.redraws == 2
        assert "validation" in live.fig._suptitle.get_text()
    finally:
        plt.close(live.fig)


def test_live_plot_user_stop():
    X, D = lm.datasets.parity(3)
    net = lm.mlp([3, 3, 1], gain=0.5)
    live = lm.LivePlot(stop=lambda rec: rec.iteration >= 2)
    try:
        r = lm.train(net, X, D, seed=0, goal=0.0, callback=live)
        assert r.stop_reason is StopReason.USER_STOP and r.iterations == 2
        assert len(live.lines["error"].get_xdata()) == 2
    finally:
        plt.close(live.fig)
