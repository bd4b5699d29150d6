"""Thin launcher: ``python main.py`` runs Twoway (see ``python main.py --help``)."""

from desktop.app import main

if __name__ == "__main__":
    raise SystemExit(main())
