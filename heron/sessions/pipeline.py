"""Pipeline modules: what they may be, how they are called, what counts as failure.

A module is a callable; a ``"package.module:function"`` name (``"package.module"`` means
its ``run``); or a dict as the OpenScope launcher's parameter files have them::

    {"module_type": "launcher_module" | "script_module",
     "module_path": "package.module:function" | "path/to/script.py",
     "module_parameters": {...}, "on_failure": "continue" | "abort" | "prompt"}

A callable gets the session (a parameter named ``session``) and the parameters it names,
from ``module_parameters`` over the session's parameters. It succeeds by returning
``None``, ``True`` or ``0``; ``False``, any other number, or an exception is a failure.
A script module runs as a child process (its output in the session log) and fails with
a non-zero exit status.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from heron.errors import ConfigError

ON_FAILURE = ("continue", "abort", "prompt")
MODULE_KEYS = {"module_type", "module_path", "module_parameters", "on_failure", "name"}


@dataclass
class Module:
    name: str
    kind: str  # "callable" or "script"
    target: Any  # the callable, or the script's path
    parameters: dict[str, Any] = field(default_factory=dict)
    on_failure: str | None = None


def resolve(entry: Any) -> Module:
    """A :class:`Module` from any accepted form; a clear ConfigError otherwise."""
    if callable(entry):
        return Module(getattr(entry, "__name__", repr(entry)), "callable", entry)
    if isinstance(entry, str):
        return Module(entry, "callable", _import(entry))
    if isinstance(entry, dict):
        unknown = set(entry) - MODULE_KEYS
        if unknown:
            raise ConfigError(f"pipeline module {entry!r}: unknown key(s) "
                              f"{', '.join(sorted(unknown))}; known: "
                              f"{', '.join(sorted(MODULE_KEYS))}")
        kind = entry.get("module_type", "launcher_module")
        path = entry.get("module_path")
        if not isinstance(path, str) or not path:
            raise ConfigError(f"pipeline module {entry!r} needs a module_path")
        on_failure = entry.get("on_failure")
        if on_failure is not None and on_failure not in ON_FAILURE:
            raise ConfigError(f"pipeline module {path}: on_failure must be one of "
                              f"{', '.join(ON_FAILURE)}, not {on_failure!r}")
        parameters = entry.get("module_parameters") or {}
        if not isinstance(parameters, dict):
            raise ConfigError(f"pipeline module {path}: module_parameters must be a table")
        name = str(entry.get("name") or path)
        if kind == "launcher_module":
            return Module(name, "callable", _import(path), parameters, on_failure)
        if kind == "script_module":
            return Module(name, "script", path, parameters, on_failure)
        raise ConfigError(f"pipeline module {path}: module_type must be launcher_module or "
                          f"script_module, not {kind!r}")
    raise ConfigError(f"a pipeline module is a callable, a 'package.module:function' name or "
                      f"a table with module_type and module_path, not {entry!r}")


def _import(path: str) -> Callable[..., Any]:
    module_name, _, attribute = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"pipeline module {path}: cannot import {module_name} ({exc})") \
            from None
    target = getattr(module, attribute or "run", None)
    if not callable(target):
        raise ConfigError(f"pipeline module {path}: {module_name} has no callable "
                          f"{attribute or 'run'}")
    return target  # type: ignore[no-any-return]


def call(module: Module, session: Any, params: dict[str, Any]) -> Any:
    """Call a callable module with the arguments it names."""
    function = module.target
    available = {**params, **module.parameters, "session": session}
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return function(session)
    kwargs: dict[str, Any] = {}
    takes_all = False
    for name, parameter in signature.parameters.items():
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            takes_all = True
        elif name in available and parameter.kind in (
                inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY):
            kwargs[name] = available[name]
        elif parameter.default is inspect.Parameter.empty and parameter.kind in (
                inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY):
            raise TypeError(f"{module.name} needs a parameter {name!r}, which the session "
                            "parameters and module_parameters do not give")
    if takes_all:
        kwargs = {**{k: v for k, v in available.items() if k != "session"}, **kwargs}
    return function(**kwargs)


def succeeded(result: Any) -> bool:
    """None, True and 0 mean success; False and any other number mean failure."""
    if result is None or result is True:
        return True
    if result is False:
        return False
    if isinstance(result, int | float):
        return result == 0
    return True


def script_command(module: Module, param_file: str) -> list[str]:
    return [sys.executable, str(module.target), "--param_file", param_file]
