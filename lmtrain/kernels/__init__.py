"""The chapter's computations as plain compiled loops: the specification of lmtrain.

These kernels are written to be read beside the chapter (§12.3) and are what
every faster version is tested against. They are compiled and executed:
:meth:`lmtrain.Network.forward`, ``.jacobian``, ``.gradient`` and
``.quasi_hessian`` run them, and ``lmtrain.train(..., kernels="plain")`` trains
on them from the first forward pass to the last solve. With
``NUMBA_DISABLE_JIT=1`` they run as ordinary Python, so a debugger can step
through every line.

Data are taken one pattern at a time, as in Fig. 12.4: ``x`` the inputs of one
pattern, ``y`` and ``s`` the value and slope of every node (inputs first, then
neurons in topological order), ``delta`` the δ of every node, ``row`` one row
of the Jacobian. A network is its :class:`lmtrain.network.Topology`: for
neuron j, its input nodes ``in_idx[in_ptr[j]:in_ptr[j + 1]]``, the position
``w_ptr[j]`` of its bias weight w_j0 (its input weights follow), its
activation code and gain; ``out_idx`` lists the output nodes.

=====================================  ==========================================
the chapter                            kernel
=====================================  ==========================================
eqs. 12.27–12.30, one neuron           :func:`.forward.neuron_forward`
Fig. 12.4 forward computation          :func:`.forward.forward_pattern`
eqs. 12.2, 12.46, errors of a pattern  :func:`.forward.pattern_errors`
eq. 12.1, E = ½ΣΣe²                    :func:`.forward.error`
eqs. 12.35, 12.47–12.52, unit δ        :func:`.backward.backward_unit_error`
eq. 12.36, one Jacobian row −δ·y       :func:`.backward.jacobian_row`
eq. 12.16, the whole Jacobian          :func:`.backward.jacobian`
eq. 12.34, g by one backward pass      :func:`.backward.gradient`
Table 12.1 NBN row, q_p and η_p        :func:`.quasi_hessian.add_pattern`
Fig. 12.4 whole, Q and g without J     :func:`.quasi_hessian.quasi_hessian`
eqs. 12.23, 12.25, the damped step     :func:`.solve.damped_step`
=====================================  ==========================================

The Fig. 12.5 iteration that puts them together is
:func:`lmtrain.algorithms.lm.step` and its try loop :func:`lmtrain.algorithms.lm.tries`.
"""

from .backward import backpropagate, backward_unit_error, gradient, jacobian, jacobian_row
from .forward import error, forward, forward_pattern, neuron_forward, pattern_errors
from .quasi_hessian import add_pattern, quasi_hessian
from .solve import cholesky_solve, damped_step, gram, jt_e, lu_solve, norm

__all__ = [
    "add_pattern", "backpropagate", "backward_unit_error", "cholesky_solve", "damped_step", "error", "forward",
    "forward_pattern", "gradient", "gram", "jacobian", "jacobian_row", "jt_e", "lu_solve", "neuron_forward", "norm",
    "pattern_errors", "quasi_hessian",
]
