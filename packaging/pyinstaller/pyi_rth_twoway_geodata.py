"""Runtime hook: phonenumbers' geocoder without its 40 MB of place names.

Twoway asks the geocoder only for country names (``phonenumbers.geodata.locale``, kept).
The place-name tables ``phonenumbers.geodata.data0…dataN`` are left out of the package
(4.4 MB compressed); this finder answers their imports with empty tables, so
``from phonenumbers import geocoder`` still works and country names are still right.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import re
import sys
from collections.abc import Sequence
from types import ModuleType

_TABLE = re.compile(r"phonenumbers\.geodata\.data\d+")


class _EmptyGeodataTables(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if _TABLE.fullmatch(fullname):
            return importlib.machinery.ModuleSpec(fullname, self)
        return None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None  # the default module object

    def exec_module(self, module: ModuleType) -> None:
        module.data = {}  # type: ignore[attr-defined]


sys.meta_path.insert(0, _EmptyGeodataTables())
