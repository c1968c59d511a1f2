"""``dashboard.config``: Flask-MonitoringDashboard's configuration object, on heron's."""

from __future__ import annotations

import os
from typing import Any

from heron import config as _heron_config

#: FMD's attribute names whose heron setting is named otherwise.
RENAMED = {"VERSION": "APP_VERSION", "LINK": "CUSTOM_LINK", "DATABASE_NAME": "DATABASE"}


class FMDConfig:
    """``init_from(file=…, envvar=…)``, ``group_by``, and every setting as an attribute
    (``dashboard.config.monitor_level``, ``dashboard.config.database_name = …``): reading
    gives heron's value, setting one configures heron."""

    def init_from(self, file: str | os.PathLike[str] | None = None,
                  envvar: str | None = None) -> None:
        """Read FMD's INI file, named here or by the environment variable ``envvar``."""
        _heron_config.init_from(file=file, envvar=envvar)

    @property
    def group_by(self) -> Any:
        return _heron_config.group_by

    @group_by.setter
    def group_by(self, value: Any) -> None:
        _heron_config.group_by = value

    @staticmethod
    def _name(attribute: str) -> str:
        name = attribute.upper()
        return RENAMED.get(name, name)

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("_"):
            raise AttributeError(attribute)
        try:
            return _heron_config.get()[self._name(attribute)]
        except KeyError:
            raise AttributeError(f"Flask-MonitoringDashboard's config has no {attribute!r} "
                                 "that heron knows") from None

    def __setattr__(self, attribute: str, value: Any) -> None:
        if attribute == "group_by":  # not a setting: the callable itself
            object.__setattr__(self, attribute, value)
            return
        _heron_config.configure(**{self._name(attribute): value})
