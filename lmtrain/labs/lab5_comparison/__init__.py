"""Lab 5: comparing EBP, Gauss-Newton and LM as in Table 12.2."""
