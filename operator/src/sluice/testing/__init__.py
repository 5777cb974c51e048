"""Test support: the pytest plugin that provides real clusters, namespaces and Prometheus."""
