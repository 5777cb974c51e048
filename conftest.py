"""Repository-wide pytest configuration: the real-cluster fixtures live in sluice.testing."""

pytest_plugins = ["sluice.testing.pytest_plugin"]
