"""Sluice: a Kubernetes operator for progressive delivery (canary and blue/green releases)."""

__version__ = "0.1.0"
