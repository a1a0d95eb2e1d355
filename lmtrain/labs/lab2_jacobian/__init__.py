"""Lab 2: the Jacobian by unit errors (eqs. 12.16, 12.29-12.36, 12.46-12.52)."""
