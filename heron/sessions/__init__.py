"""Experiment sessions: a folder and a log per session, metadata, pipeline steps, resource
usage, a central mirror and debug state on failure. See ``docs/sessions.md``."""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Any

from heron.errors import ConfigError
from heron.sessions.session import STAGES, Session, SessionFailed, SessionTerminated

__all__ = ["STAGES", "Session", "SessionFailed", "SessionTerminated", "from_params",
           "load_params", "session"]

#: Keys of a parameter file, besides the experiment's own ``params`` table.
SESSION_KEYS = {
    "output_dir", "subject_id", "user_id", "name", "app", "centralized_log_directory",
    "mirror_interval", "resource_interval", "low_disk_gb", "prompt_notes", "log_level",
    "repositories",
}
PIPELINE_KEYS = {"pre_acquisition", "acquisition", "post_acquisition"}
KNOWN_KEYS = SESSION_KEYS | PIPELINE_KEYS | {"params", "crash_report"}
#: The OpenScope launcher's ``github_issue`` block, read as ``crash_report`` (its keys as the
#: launcher's docs name them → heron's).
GITHUB_ISSUE_KEYS = {"include_launcher_log": "include_log", "launcher_log_mode": "log_mode",
                     "sanitize_launcher_log": "sanitize_log",
                     "include_rig_config": "include_params"}


def session(output_dir: str | os.PathLike[str], **options: Any) -> Session:
    """A session writing into ``output_dir``: ``with heron.session(...) as s:``.

    Options: ``subject_id``, ``user_id``, ``params``, ``name``, ``app``,
    ``centralized_log_directory``, ``mirror_interval`` (s), ``resource_interval`` (s,
    default 5), ``low_disk_gb`` (default 5), ``prompt_notes``, ``log_level`` (default INFO),
    ``repositories`` (more git repositories to record).
    """
    return Session(output_dir, **options)


def load_params(path: str | os.PathLike[str], rig_defaults: dict[str, Any] | str |
                os.PathLike[str] | None = None,
                overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """A parameter file (JSON or TOML) over the rig's defaults, with ``overrides`` on top.

    Written as the OpenScope launcher's are: a ``github_issue`` block is the crash report's
    configuration, and keys heron does not know are the experiment's own parameters (kept
    under ``params``)."""
    return _load(path, rig_defaults, overrides)[0]


def _load(path: str | os.PathLike[str], rig_defaults: dict[str, Any] | str |
          os.PathLike[str] | None, overrides: dict[str, Any] | None
          ) -> tuple[dict[str, Any], list[str]]:
    """:func:`load_params`, and the keys it kept as the experiment's parameters."""
    merged: dict[str, Any] = {}
    if rig_defaults is not None:
        defaults = rig_defaults if isinstance(rig_defaults, dict) else _read(rig_defaults)
        merged.update(defaults)
    merged.update(_read(path))
    for key, value in (overrides or {}).items():
        head, _, rest = key.partition(".")
        if rest:
            table = merged.setdefault(head, {})
            if not isinstance(table, dict):
                raise ConfigError(f"--set {key}: {head} is not a table")
            table[rest] = value
        else:
            merged[key] = value
    if "github_issue" in merged:  # the OpenScope launcher's name for the block
        block = merged.pop("github_issue")
        if not isinstance(block, dict):
            raise ConfigError(f"{path}: github_issue must be a table")
        merged.setdefault("crash_report", {GITHUB_ISSUE_KEYS.get(k, k): v
                                           for k, v in block.items()})
    if "output_dir" not in merged:
        raise ConfigError(f"{path}: output_dir is required")
    if not isinstance(merged.get("params", {}), dict):
        raise ConfigError(f"{path}: params must be a table")
    # Keys heron does not know are the experiment's own parameters, as in a launcher's
    # parameter file: kept under params, and named once at start (a typo of heron's own
    # keys is said with the key it resembles).
    extra = sorted(set(merged) - KNOWN_KEYS)
    if extra:
        merged["params"] = {**{k: merged.pop(k) for k in extra}, **merged.get("params", {})}
    return merged, extra


def describe_extra_keys(keys: list[str]) -> str | None:
    """One line naming the keys kept as the experiment's parameters, and the heron key
    each near-typo resembles; None when there are none."""
    if not keys:
        return None
    import difflib

    named = []
    for key in keys:
        near = difflib.get_close_matches(key, sorted(KNOWN_KEYS), n=1, cutoff=0.8)
        named.append(f"{key} (did you mean {near[0]}?)" if near else key)
    return ("parameters heron does not know, kept as the experiment's own: "
            + ", ".join(named))


def from_params(path: str | os.PathLike[str], rig_defaults: dict[str, Any] | str |
                os.PathLike[str] | None = None, **overrides: Any) -> Session:
    """A :class:`Session` from a parameter file (see :func:`load_params`)."""
    merged, extra = _load(path, rig_defaults, overrides)
    options = {k: v for k, v in merged.items() if k in SESSION_KEYS and k != "output_dir"}
    session_ = Session(merged["output_dir"], params=merged.get("params", {}),
                       input_params=_read(path), crash_report=merged.get("crash_report"),
                       **options)
    session_.start_notes = [n for n in (describe_extra_keys(extra),) if n]
    acquisition = merged.get("acquisition")
    script = acquisition if isinstance(acquisition, str) else \
        acquisition[-1] if isinstance(acquisition, list) and acquisition else None
    candidates = [Path(path).resolve().parent / script, Path(script)] if script else []
    found = [c.resolve() for c in candidates if c.is_file()]
    # the experiment's own files (their repository), not heron's executable
    session_.script = found[0] if found else Path(path).resolve()
    session_.plan = {k: merged.get(k) for k in PIPELINE_KEYS}  # type: ignore[attr-defined]
    return session_


def _read(path: str | os.PathLike[str]) -> dict[str, Any]:
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read parameter file {file}: {exc.strerror}") from None
    try:
        data = tomllib.loads(text) if file.suffix == ".toml" else json.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"parameter file {file} is not valid "
                          f"{'TOML' if file.suffix == '.toml' else 'JSON'}: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"parameter file {file} must hold a table of parameters")
    return data


session.from_params = from_params  # type: ignore[attr-defined]  # heron.session.from_params
