"""Command lines: `sluice` (the operator) and `kubectl-sluice` (the on-call engineer's plugin)."""
