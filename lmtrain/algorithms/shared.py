"""One source, run compiled or interpreted: the rules, their try loop and the iteration loop.

A rule's step, Fig. 12.5's try loop and the iteration loop are written once
and run in two ways:

* **compiled**, inlined into the compiled loop on the speed twins'
  workspace (:mod:`._fast.work`);
* **interpreted**, on a workspace that is a Python object (the plain
  kernels' workspace, the blocked large-problem path, whose products are BLAS
  calls from Python, and curve models, whose model is Python):
  :func:`interpreted` gives the same source as a Python function, in which
  the shared functions it calls are interpreted too, the workspace operations
  become calls of the workspace's methods (:func:`answered_by_method`), and
  kernels on arrays stay compiled.
"""

from __future__ import annotations

import types

from numba import njit

_SHARED: set = set()
_INTERPRETED: dict = {}
_METHODS: dict = {}


def shared(fn):
    """Mark ``fn`` as shared: inlined where compiled code calls it, interpreted by :func:`interpreted`.

    Inlined rather than called: a call would pass the workspace's arrays one
    by one, and the loop, the rule and its operations become one compiled
    function that Numba compiles (and caches) once.
    """
    compiled = njit(inline="always")(fn)
    _SHARED.add(compiled)
    return compiled


def answered_by_method(op):
    """Register ``op(ws, *args)``, a workspace operation, as ``ws.<op name>(*args)`` when interpreted."""
    name = getattr(op, "py_func", op).__name__

    def call_method(ws, *args):
        return getattr(ws, name)(*args)

    call_method.__name__ = name
    _METHODS[op] = call_method
    return op


def interpreted(fn):
    """``fn`` (a compiled function or its source) as a Python function calling the shared functions as Python.

    Other compiled functions it calls (kernels on arrays) stay compiled. The
    workspace operations it names become calls of the workspace's methods;
    under ``NUMBA_DISABLE_JIT=1``, where every function is Python already,
    that rebinding is all this changes.
    """
    py = getattr(fn, "py_func", fn)
    hit = _INTERPRETED.get(py)
    if hit is not None:
        return hit
    names = dict(py.__globals__)
    out = types.FunctionType(py.__code__, names, py.__name__, py.__defaults__, py.__closure__)
    _INTERPRETED[py] = out  # before the names it calls: shared functions may call each other
    for name in py.__code__.co_names:
        value = names.get(name)
        try:
            if value in _METHODS:
                names[name] = _METHODS[value]
            elif value in _SHARED:
                names[name] = interpreted(value)
        except TypeError:  # an unhashable global: neither
            pass
    return out
