"""Composition root: parse the command line, set up logging, build the services, start Qt.

Kept deliberately light at import time: the first paint must not wait for twilio,
werkzeug, keyring or pyngrok, which the core imports later on a background thread.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence

from desktop import cli

logger = logging.getLogger(__name__)


def _guard_missing_streams() -> None:
    """A frozen windowed app has no stdout/stderr; libraries that print must not crash."""
    if sys.stdout is None:
        sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115


def main(argv: Sequence[str] | None = None) -> int:
    from desktop.platform_support import prepare_frozen_environment

    _guard_missing_streams()
    # A frozen app must not hand its private library paths to programs it opens.
    prepare_frozen_environment()
    parsed = cli.parse(sys.argv[1:] if argv is None else argv)
    if isinstance(parsed, cli.ExportArgs):
        return cli.run_export(parsed)
    if isinstance(parsed, cli.FrontDeskArgs):
        from desktop.frontdesk import commands

        return commands.run(parsed)
    if isinstance(parsed, cli.DoctorArgs):
        return cli.run_doctor(parsed)
    if isinstance(parsed, cli.RepairArgs):
        return cli.run_repair(parsed)
    from desktop.logs import setup_logging
    from desktop.paths import Paths, default_data_dir

    data_dir = parsed.data_dir or default_data_dir(demo=parsed.demo)
    setup_logging(Paths(data_dir).log_file, verbose=parsed.verbose)
    from desktop.ui.application import run

    return run(parsed, data_dir)
