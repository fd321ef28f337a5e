"""Top-level pytest configuration, loaded for every run under the repository (``make test``,
``make test-floor``, a single notebook): the guard that fails a run which changed its environment."""

pytest_plugins = ["tests.environment_guard"]
