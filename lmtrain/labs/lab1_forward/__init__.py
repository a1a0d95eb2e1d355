"""Lab 1: the forward pass (eqs. 12.27-12.31)."""
