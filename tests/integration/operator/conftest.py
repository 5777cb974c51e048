"""The operator's integration tests use the shared fixtures of sluice.testing.pytest_plugin."""
