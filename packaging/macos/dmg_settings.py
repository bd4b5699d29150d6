"""dmgbuild settings for Twoway's disk image: the app beside a link to /Applications.

    python -m dmgbuild -s packaging/macos/dmg_settings.py \\
        -D app=packaging/out/dist/Twoway.app -D icon=resources/icons/twoway.icns \\
        "Twoway 0.1.0" packaging/out/Twoway-0.1.0.dmg

(python packaging/build.py runs exactly that.)  dmgbuild executes this file with the -D
values in ``defines``; every other top-level name below is one of its settings.
"""

from __future__ import annotations

import os.path

defines: dict[str, str] = globals().get("defines", {})

application = defines.get("app", "packaging/out/dist/Twoway.app")
appname = os.path.basename(application)

# LZMA-compressed, read-only: the smallest image; needs macOS 10.15+, Twoway needs 12+.
format = defines.get("format", "ULMO")  # dmgbuild's setting name, not the builtin
size = None
files = [application]
symlinks = {"Applications": "/Applications"}
if "icon" in defines:
    icon = defines["icon"]

# The Finder window: drag the app onto the Applications folder.
show_status_bar = False
show_tab_view = False
show_toolbar = False
show_pathbar = False
show_sidebar = False
default_view = "icon-view"
window_rect = ((200, 120), (600, 330))
arrange_by = None
icon_size = 128
text_size = 13
label_pos = "bottom"
icon_locations = {appname: (150, 150), "Applications": (450, 150)}
hide_extensions = [appname]
