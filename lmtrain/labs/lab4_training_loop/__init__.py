"""Lab 4: the training loop of Fig. 12.5."""
