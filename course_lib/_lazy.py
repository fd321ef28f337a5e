"""Public names that load their module on first use, so a package ``__init__`` stays cheap.

A package lists its names and the modules defining them, then hands out the two hooks::

    __getattr__, __dir__ = lazy_exports(__name__, {"load_mnist": ".loaders", ...})

``from package import name`` and ``package.name`` import the defining module only then;
``dir(package)`` lists the names before any of them is loaded.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Module hooks ``(__getattr__, __dir__)`` for ``package`` serving ``exports`` lazily.

    ``exports`` maps each public name to the module that defines it; a module written with a
    leading dot (``".devices"``) is relative to ``package``.
    """

    def __getattr__(name: str) -> Any:
        """Load the module behind a public name on first use."""
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(module, package), name)

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(exports))

    return __getattr__, __dir__
