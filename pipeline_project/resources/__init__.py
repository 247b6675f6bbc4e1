"""Shared ConfigurableResources. Each is chosen from the environment in `build_resources()`."""
