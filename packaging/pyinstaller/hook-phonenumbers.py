"""phonenumbers loads its per-region metadata by name at run time, so collect it all; but not
the carrier and time-zone data, which Twoway never uses, nor the geocoder's place-name
tables (see pyi_rth_twoway_geodata.py).  Replaces pyinstaller-hooks-contrib's hook, which
collects everything; twoway.spec also lists these in its excludes."""

import re

from PyInstaller.utils.hooks import collect_submodules  # type: ignore[import-untyped]

_UNUSED = re.compile(r"phonenumbers\.(carrier|carrierdata|timezone|tzdata|geodata\.data\d+)(\..*)?")

hiddenimports = collect_submodules("phonenumbers", filter=lambda name: not _UNUSED.fullmatch(name))
