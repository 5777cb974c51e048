"""A traffic simulator: fake request metrics for a namespace's Deployments (demos, tests)."""
