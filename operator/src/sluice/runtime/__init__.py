"""The runtime: observe the cluster (read-only), ask the engine, then act and write status once."""
