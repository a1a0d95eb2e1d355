"""LMRegressor / LMClassifier: scikit-learn's own estimator checks, and accuracy
against independent oracles (known functions, scikit-learn's MLP and metrics,
lm.train replayed with the same seeds)."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest

import lmtrain as lm
from lmtrain.estimators import DataConversionWarning, LMClassifier, LMRegressor, Model, NotFittedError

sklearn = pytest.importorskip("sklearn")
from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_iris, make_blobs  # noqa: E402
from sklearn.exceptions import NotFittedError as SkNotFittedError  # noqa: E402
from sklearn.metrics import accuracy_score, r2_score  # noqa: E402
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402


def sincos(n, seed):
    X = np.random.default_rng(seed).uniform(-3, 3, (n, 2))
    return X, np.sin(X[:, 0]) * np.cos(X[:, 1])


# ---------------------------------------------------------- scikit-learn API
# Small networks and few iterations keep the ~55 checks per estimator quick.
# No check is skipped or marked as expected to fail; the tags only declare what
# is true (the regressor handles 2-D y natively; both need y).
with warnings.catch_warnings():  # "does not inherit from BaseEstimator": by design
    warnings.filterwarnings("ignore", message="Estimator LM.* does not inherit from")
    _CHECKED = parametrize_with_checks([
        LMRegressor(hidden=(5,), max_iter=30, random_state=0),
        LMClassifier(hidden=(5,), max_iter=30, random_state=0),
    ])


@pytest.mark.filterwarnings("ignore:Estimator LM.* does not inherit from")
@_CHECKED
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_params_follow_base_estimator_semantics():
    est = LMRegressor(hidden=(3,), topology="fcc")
    params = est.get_params()
    assert params["hidden"] == (3,) and params["topology"] == "fcc" and params["random_state"] is None
    assert set(params) == set(LMRegressor().get_params())
    assert est.set_params(max_iter=7, goal=0.5) is est
    assert est.max_iter == 7 and est.goal == 0.5
    with pytest.raises(ValueError, match="Invalid parameter 'hidden_layer_sizes'"):
        est.set_params(hidden_layer_sizes=(3,))
    # __init__ and set_params store, fit validates (naming the parameter)
    bad = LMRegressor(topology="ring")
    X, y = sincos(20, 0)
    with pytest.raises(ValueError, match="topology"):
        bad.fit(X, y)
    with pytest.raises(ValueError, match="max_iter"):
        LMRegressor(max_iter=0).fit(X, y)
    with pytest.raises(TypeError, match="options"):
        LMRegressor(options={"max_iter": 3}).fit(X, y)
    with pytest.raises(TypeError, match="do not apply"):
        LMRegressor(options={"alpha": 3.0}).fit(X, y)
    c = clone(est)
    assert c is not est and c.get_params() == est.get_params()
    assert repr(est) == "LMRegressor(goal=0.5, hidden=(3,), max_iter=7, topology='fcc')"
    # nested parameters through a Pipeline
    pipe = make_pipeline(StandardScaler(), LMRegressor())
    pipe.set_params(lmregressor__hidden=(4,))
    assert pipe.get_params()["lmregressor__hidden"] == (4,)


def test_not_fitted_and_input_errors():
    est = LMClassifier()
    with pytest.raises(NotFittedError, match="not fitted"):
        est.predict([[1.0, 2.0]])
    with pytest.raises(SkNotFittedError):  # scikit-learn is imported here, so its class matches too
        est.predict_proba([[1.0, 2.0]])
    X, y = sincos(30, 1)
    reg = LMRegressor(hidden=3, max_iter=5, random_state=0)
    with pytest.raises(ValueError, match="Reshape your data"):
        reg.fit(X[:, 0], y)
    with pytest.raises(ValueError, match="different numbers of samples"):
        reg.fit(X, y[:-1])
    Xn = X.copy()
    Xn[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        reg.fit(Xn, y)
    with pytest.raises(ValueError, match="target y is None"):
        reg.fit(X, None)
    reg.fit(X, y)
    with pytest.raises(ValueError, match="X has 1 features, but LMRegressor is expecting 2"):
        reg.predict(X[:, :1])
    with pytest.raises(ValueError, match="Unknown label type"):
        LMClassifier().fit(X, y)
    with pytest.raises(ValueError, match="1 class"):
        LMClassifier().fit(X, np.ones(len(X)))
    with pytest.raises(ValueError, match="validation_fraction"):
        LMRegressor(validation_fraction=0.01).fit(X, y)


# ------------------------------------------------------------------- oracles
def test_regressor_fits_a_smooth_function_as_well_as_sklearn_mlp():
    from sklearn.neural_network import MLPRegressor

    X, y = sincos(200, 0)
    Xt, yt = sincos(400, 1)
    ours = LMRegressor(hidden=(10,), random_state=0).fit(X, y)
    r2_train = ours.score(X, y)
    r2_test = ours.score(Xt, yt)
    assert r2_train == pytest.approx(r2_score(y, ours.predict(X)), abs=1e-12)
    assert r2_train > 0.999 and r2_test > 0.99
    # the held-out error is measured against the known function itself
    assert np.sqrt(np.mean((ours.predict(Xt) - yt) ** 2)) < 0.05
    theirs = MLPRegressor(hidden_layer_sizes=(10,), activation="tanh", solver="lbfgs", max_iter=2000,
                          tol=1e-10, random_state=0).fit(X, y)
    assert r2_test >= theirs.score(Xt, yt) - 0.01, (r2_test, theirs.score(Xt, yt))


def test_regressor_multi_output_and_r2_matches_sklearn():
    X, y = sincos(120, 2)
    Y = np.column_stack([y, np.cos(X[:, 0]) + 3.0, np.full(len(y), 2.5)])  # last output constant
    est = LMRegressor(hidden=(8,), max_iter=60, random_state=1).fit(X, Y)
    P = est.predict(X)
    assert P.shape == Y.shape and est.net_.n_outputs == 3
    assert est.score(X, Y) == pytest.approx(r2_score(Y, P), abs=1e-12)
    w = np.linspace(0.5, 2.0, len(y))
    assert est.score(X, Y, sample_weight=w) == pytest.approx(r2_score(Y, P, sample_weight=w), abs=1e-12)
    assert np.allclose(P[:, 2], 2.5, rtol=0, atol=1e-3)
    # a column vector y gives the same fit, returned as a column
    col = LMRegressor(hidden=(8,), max_iter=20, random_state=1)
    flat = clone(col).fit(X, y).predict(X)
    assert np.array_equal(col.fit(X, y[:, None]).predict(X), flat[:, None])


def test_classifier_separable_and_multiclass():
    from sklearn.linear_model import LogisticRegression

    X, y = make_blobs(n_samples=200, centers=[[-3, -3], [3, 3]], cluster_std=0.8, random_state=0)
    Xt, yt = make_blobs(n_samples=200, centers=[[-3, -3], [3, 3]], cluster_std=0.8, random_state=1)
    clf = LMClassifier(hidden=(4,), random_state=0).fit(X, y)
    assert clf.net_.n_outputs == 1
    assert clf.score(X, y) == 1.0
    assert clf.score(Xt, yt) == pytest.approx(accuracy_score(yt, clf.predict(Xt)))
    assert clf.score(Xt, yt) >= LogisticRegression().fit(X, y).score(Xt, yt) - 0.01

    Xi, yi = load_iris(return_X_y=True)
    label_names = np.array(["setosa", "versicolor", "virginica"])
    names = label_names[yi]
    a = LMClassifier(hidden=(5,), max_iter=50, random_state=0).fit(Xi, yi)
    b = LMClassifier(hidden=(5,), max_iter=50, random_state=0).fit(Xi, names)
    assert a.net_.n_outputs == 3 and list(b.classes_) == list(label_names)
    assert np.array_equal(label_names[a.predict(Xi)], b.predict(Xi))  # labels do not change the fit
    assert a.score(Xi, yi) >= 0.97
    proba = b.predict_proba(Xi)
    assert proba.shape == (150, 3) and np.all(proba >= 0) and np.allclose(proba.sum(axis=1), 1.0)
    assert np.array_equal(b.classes_[proba.argmax(axis=1)], b.predict(Xi))
    # unipolar outputs are trained on 0/1 one-hot targets
    u = LMClassifier(hidden=(5,), output_activation="sigmoid", max_iter=50, random_state=0).fit(Xi, yi)
    raw = u.to_model().predict(Xi)
    assert np.mean(np.abs(raw - np.eye(3)[yi])) < 0.05
    # predictions depend on the fitted state only, not on parameters changed after fit
    before = u.predict_proba(Xi)
    u.set_params(output_activation="tanh", hidden=(1,))
    assert np.array_equal(u.predict_proba(Xi), before)
    with pytest.warns(DataConversionWarning):
        LMClassifier(hidden=(2,), max_iter=3).fit(Xi, yi[:, None])


def test_pipeline_cross_val_and_grid_search():
    X, y = sincos(150, 3)
    pipe = make_pipeline(StandardScaler(), LMRegressor(hidden=(8,), max_iter=60, random_state=0))
    scores = cross_val_score(pipe, X * 100.0, y, cv=KFold(3, shuffle=True, random_state=0))
    assert scores.shape == (3,) and scores.min() > 0.97
    Xi, yi = load_iris(return_X_y=True)
    # restarts guard against a run stuck with saturated neurons (one seed in five is, here, without them)
    acc = cross_val_score(LMClassifier(hidden=(4,), max_iter=30, restarts=3, random_state=0), Xi, yi, cv=3)
    assert acc.min() > 0.9
    grid = GridSearchCV(LMRegressor(max_iter=40, random_state=0), {"hidden": [(1,), (8,)]}, cv=3).fit(X, y)
    assert grid.best_params_ == {"hidden": (8,)}


# ------------------------------------------------------- seeds and structure
def test_restarts_replay_lm_train_with_the_documented_seeds():
    X, y = sincos(60, 4)
    est = LMRegressor(hidden=(4,), max_iter=25, restarts=3, random_state=7).fit(X, y)
    Xs = (X - X.mean(0)) / X.std(0)
    ys = ((y - y.mean()) / y.std())[:, None]
    children = np.random.SeedSequence(7).spawn(4)  # child 0 is the validation split's
    errors = []
    for r in range(3):
        net = lm.mlp([2, 4, 1], activation="tanh", output_activation="linear")
        w0 = net.init_weights(np.random.default_rng(children[r + 1]))
        res = lm.train(net, Xs, ys, "lm", w0=w0, max_iter=25, strict=True)
        errors.append(net.error(res.weights, Xs, ys))
        if r == est.best_restart_:
            assert np.array_equal(res.weights, est.weights_)
    assert np.allclose(est.restart_errors_, errors, rtol=0, atol=0)
    assert est.best_restart_ == int(np.argmin(errors))
    # same int seed: same fit; a Generator is accepted and advances
    assert np.array_equal(clone(est).fit(X, y).weights_, est.weights_)
    g = np.random.default_rng(0)
    w1 = LMRegressor(hidden=(4,), max_iter=5, random_state=g).fit(X, y).weights_
    w2 = LMRegressor(hidden=(4,), max_iter=5, random_state=g).fit(X, y).weights_
    assert not np.array_equal(w1, w2)


def test_standardisation_is_exact_under_power_of_two_scaling():
    X, y = sincos(80, 5)
    a = LMRegressor(hidden=(5,), max_iter=30, random_state=0).fit(X, y)
    # scaling by powers of two is exact in floating point, so the fits must agree to the last bit
    b = LMRegressor(hidden=(5,), max_iter=30, random_state=0).fit(X * 1024.0, y * 64.0)
    assert np.array_equal(b.predict(X * 1024.0), a.predict(X) * 64.0)
    raw = LMRegressor(hidden=(5,), max_iter=30, random_state=0, standardize=False).fit(X, y)
    assert np.array_equal(raw.x_mean_, [0, 0]) and np.array_equal(raw.y_scale_, [1])


def test_topologies_and_validation_early_stop():
    X, y = sincos(100, 6)
    f = LMRegressor(hidden=3, topology="fcc", max_iter=10, random_state=0).fit(X, y)
    assert f.net_ == lm.fcc(2, 4, activation="tanh", output_activation="linear")
    b = LMRegressor(hidden=(3, 2), topology="bmlp", max_iter=10, random_state=0).fit(X, y)
    assert b.net_ == lm.bmlp([2, 3, 2, 1], activation="tanh", output_activation="linear")
    with pytest.raises(ValueError, match="one number"):
        LMRegressor(hidden=(3, 2), topology="fcc").fit(X, y)
    noisy = y + 0.3 * np.random.default_rng(0).standard_normal(len(y))
    v = LMRegressor(hidden=(20,), max_iter=300, restarts=2, validation_fraction=0.3, max_fail=4,
                    random_state=0).fit(X, noisy)
    assert v.validation_error_ == v.restart_errors_.min()
    assert v.result_.stop_reason == lm.StopReason.VALIDATION
    hist = v.result_.history.validation_error
    assert np.all(np.isfinite(hist)) and hist[-4:].min() > hist.min()


def test_model_matches_the_regressor():
    X, y = sincos(50, 8)
    est = LMRegressor(hidden=(4,), max_iter=20, random_state=0).fit(X, y)
    m = est.to_model()
    assert np.array_equal(m.predict(X)[:, 0], est.predict(X))
    with pytest.raises(ValueError, match="n_weights"):
        Model(est.net_, est.weights_[:-1])
    with pytest.raises(TypeError, match="Network"):
        Model("net", est.weights_)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.array_equal(Model(est.net_, est.weights_).predict(X[:3]),
                              est.net_.forward(est.weights_, X[:3]))


def test_lmtrain_does_not_import_sklearn():
    import subprocess
    import sys

    code = ("import sys, numpy as np, lmtrain as lm\n"
            "X = np.linspace(-1, 1, 20).reshape(-1, 1)\n"
            "c = lm.LMClassifier(hidden=2, max_iter=3).fit(X, X[:, 0] > 0)\n"
            "r = lm.LMRegressor(hidden=2, max_iter=3).fit(X, X[:, 0])\n"
            "try:\n    lm.LMRegressor().predict(X)\nexcept lm.estimators.NotFittedError:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'sklearn'))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert out.stdout.strip() == "[]"
