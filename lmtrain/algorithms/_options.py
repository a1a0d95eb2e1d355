"""Positions of the options in the flat arrays handed to compiled loops.

Compiled code cannot take keyword arguments or dicts cheaply, so the public
wrapper packs validated options into one float64 and one int64 array.
"""

# float options (fopt)
GOAL = 0
MAX_TIME = 1
MIN_GRAD = 2
MIN_STEP = 3
ALPHA = 4
MOMENTUM = 5
MU_INC = 6
MU_DEC = 7
MU_MIN = 8
MU_MAX = 9
HESSIAN_STEP = 10
TICK_HZ = 11
N_FLOAT = 12

# int options (iopt)
MAX_ITER = 0
MAX_TRIES = 1
STRICT = 2
T0 = 3  # counter value at the start of training
INDEFINITE_STEP = 4  # Newton: 1 = step through an indefinite Hessian
JACOBIAN = 5  # LM, Gauss–Newton: one of the JACOBIAN_* codes below
N_INT = 6

# the ``jacobian`` option: whole J in compiled code, or blocks of J with BLAS
JACOBIAN_AUTO = 0
JACOBIAN_FULL = 1
JACOBIAN_BLOCKS = 2
JACOBIAN_MODES = {"auto": JACOBIAN_AUTO, "full": JACOBIAN_FULL, "blocks": JACOBIAN_BLOCKS}

# state (float64 array carried between calls)
ST_E = 0
ST_MU = 1
ST_K = 2
ST_STARTED = 3
ST_E0 = 4
N_STATE = 5

# algorithm codes
EBP = 0
NEWTON = 1
GAUSS_NEWTON = 2
LM = 3
