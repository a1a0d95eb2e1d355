"""Lab 7: curve fitting with LM, against Newton-Raphson."""
