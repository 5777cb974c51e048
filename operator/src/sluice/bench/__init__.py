"""`make bench`: rollback latency, the scale curve and the idle cost of the operator."""
