"""What a page of the settings dialog is, so adding one (Team, …) is one class and one line.

A page is a widget with a title.  Before anything is saved the dialog asks every page for
a :meth:`SettingsPage.problem` (the first one found is shown on its own tab and nothing
is saved), then asks each for :meth:`SettingsPage.start_save`: a future for its save, or
None when it has nothing to save.  The dialog closes once every future has succeeded.

The front-desk pages (quick replies, hours, auto-replies) each edit one part of a single
:class:`~desktop.domain.frontdesk_setup.FrontDeskSetup`; :class:`FrontDeskPages` puts
their parts together and saves them with one ``FrontDesk.replace_setup`` call, which
works signed in or not (the demo included), since the setup is a file in the data folder.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future

from PySide6.QtWidgets import QWidget

from desktop.domain.frontdesk_setup import FrontDeskSetup, SetupFileError, checked
from desktop.frontdesk.service import FrontDesk
from desktop.ui.tasks import run_in_background


class SettingsPage(QWidget):
    """One tab of the settings dialog; override what applies."""

    title = "Page"

    def problem(self) -> str | None:
        """Why this page cannot be saved as it is (plain words), or None."""
        return None

    def start_save(self) -> Future[object] | None:
        """Start saving this page's changes; None when there is nothing to save."""
        return None


class FrontDeskPage(SettingsPage):
    """A page that edits part of the front-desk setup."""

    def show_setup(self, setup: FrontDeskSetup) -> None:
        """Fill the page from ``setup`` (on opening, and after an import)."""
        raise NotImplementedError

    def edit(self, setup: FrontDeskSetup) -> FrontDeskSetup:
        """``setup`` with this page's part replaced by what the page shows; raises
        :class:`SetupFileError` (or ValueError) with a plain reason when it cannot."""
        raise NotImplementedError

    def problem(self) -> str | None:
        return None  # checked together by FrontDeskPages, which knows the whole setup


class FrontDeskPages:
    """The front-desk pages as one unit: one value in, one save out."""

    def __init__(self, desk: FrontDesk, pages: Sequence[FrontDeskPage]) -> None:
        self.desk = desk
        self.pages = tuple(pages)
        self.show_setup(desk.setup)

    def show_setup(self, setup: FrontDeskSetup) -> None:
        self._shown = setup
        for page in self.pages:
            page.show_setup(setup)

    def edited(self) -> FrontDeskSetup:
        """What the pages show, checked as a file would be; raises :class:`SetupFileError`."""
        setup = self._shown
        for page in self.pages:
            try:
                setup = page.edit(setup)
            except SetupFileError:
                raise
            except ValueError as exc:
                raise SetupFileError(f"{page.title}: {exc}") from None
        return checked(setup)

    def problem(self) -> tuple[FrontDeskPage, str] | None:
        """The first page whose content cannot be saved, and why."""
        setup = self._shown
        for page in self.pages:
            try:
                setup = checked(page.edit(setup))
            except ValueError as exc:  # SetupFileError is a ValueError
                return page, str(exc)
        return None

    def has_changes(self) -> bool:
        try:
            return self.edited() != self.desk.setup
        except ValueError:
            return True

    def start_save(self) -> Future[FrontDeskSetup] | None:
        if not self.has_changes():
            return None
        new = self.edited()
        return run_in_background(lambda: self.desk.replace_setup(new))
