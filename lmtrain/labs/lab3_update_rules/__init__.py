"""Lab 3: the update rules of Table 12.1 on a two-weight problem."""
