"""Package faces that load their modules on first use (PEP 562).

A face re-exports the names the interfaces use; loading every module of a package behind it at
import time would pull the model libraries into ``soloist --help`` (scikit-learn alone costs a
second), so each name loads its own module when it is first asked for.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_face(
    package: str, module_of: Mapping[str, str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``, whose name ``n`` lives in the module
    ``module_of[n]`` (relative to the package); a loaded name is kept in ``namespace``."""

    def __getattr__(name: str) -> Any:  # noqa: N807 (the module hook's own name)
        module = module_of.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:  # noqa: N807
        return sorted(set(namespace) | set(module_of))

    return __getattr__, __dir__
