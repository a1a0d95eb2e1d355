"""Lab 6: the quasi-Hessian without storing J (Table 12.1, NBN row; §12.5)."""
