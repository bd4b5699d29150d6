"""What the UI asks of the front desk, as plain calls on the store and the setup holder.

Reads (drafts, contacts, quick-reply lookups) run on the caller's own reader connection
and are quick enough for the GUI thread.  Writes go through the single writer and return
its future.  Calls marked *blocking* read or write files: run them off the GUI thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import TextIO

from desktop.domain import phone
from desktop.domain.frontdesk_setup import FrontDeskSetup
from desktop.domain.quick_replies import QuickReply, RenderContext, lookup, render
from desktop.frontdesk import contacts_csv
from desktop.frontdesk.setup_file import SetupHolder, write_atomically
from desktop.store import contacts as contact_store
from desktop.store import drafts as draft_store
from desktop.store import queries
from desktop.store.service import Store

logger = logging.getLogger(__name__)

DEFAULT_REGION = "US"


class FrontDesk:
    """Drafts, quick replies, the front-desk setup and contacts for one data folder.

    ``our_number`` names the number Twoway texts from (its country is the default for
    contact numbers typed without one); ``business_name`` fills ``{business}``.
    """

    def __init__(
        self,
        store: Store,
        setup: SetupHolder,
        *,
        our_number: Callable[[], str] = lambda: "",
        business_name: Callable[[], str] = lambda: "",
    ) -> None:
        self._store = store
        self._setup = setup
        self._our_number = our_number
        self._business_name = business_name

    # -- drafts ------------------------------------------------------------------------------

    def save_draft(
        self, conversation_id: int, body: str, attachments: Sequence[Path | str] = ()
    ) -> Future[None]:
        """Keep what the composer holds (an empty composer clears the draft)."""
        paths = [str(a) for a in attachments]
        return self._store.writer.submit(
            lambda tx: draft_store.save_draft(tx, conversation_id, body, paths)
        )

    def clear_draft(self, conversation_id: int) -> Future[None]:
        return self._store.writer.submit(lambda tx: draft_store.clear_draft(tx, conversation_id))

    def draft(self, conversation_id: int) -> draft_store.Draft | None:
        return draft_store.load_draft(self._store.reader(), conversation_id)

    def drafts(self) -> dict[int, draft_store.Draft]:
        return draft_store.all_drafts(self._store.reader())

    # -- quick replies -----------------------------------------------------------------------

    @property
    def setup(self) -> FrontDeskSetup:
        return self._setup.current

    def quick_replies(self, query: str = "", limit: int = 8) -> list[QuickReply]:
        """For ``/`` + letters in the composer: best matches first (all, for "/")."""
        return lookup(query, self._setup.current.quick_replies, limit)

    def render_context(self, conversation_id: int | None) -> RenderContext:
        name = ""
        if conversation_id is not None:
            row = queries.conversation(self._store.reader(), conversation_id)
            name = row.contact_name if row is not None else ""
        return RenderContext(
            name=name,
            business=self._business_name(),
            hours=self._setup.current.business_hours.describe(),
        )

    def render_quick_reply(self, reply: QuickReply, conversation_id: int | None) -> str:
        """The reply's text for this conversation; unknown or empty placeholders stay visible
        so staff can fill them in before sending."""
        return render(reply.text, self.render_context(conversation_id))

    # -- the setup file ----------------------------------------------------------------------

    def replace_setup(self, new: FrontDeskSetup) -> FrontDeskSetup:
        """*Blocking.*  Check, save and publish; raises SetupFileError or OSError."""
        return self._setup.replace(new)

    def import_setup(self, path: Path) -> FrontDeskSetup:
        """*Blocking.*  Replace the setup with a file; refused whole (SetupFileError)."""
        return self._setup.import_text(path.read_bytes())

    def export_setup(self, path: Path) -> None:
        """*Blocking.*"""
        write_atomically(path, self._setup.export_text())

    # -- contacts ----------------------------------------------------------------------------

    def default_region(self) -> str:
        """The country of our number, for contact numbers written without a country code."""
        ours = self._our_number().strip()
        if not ours:
            numbers = queries.our_numbers(self._store.reader())
            ours = numbers[0].e164 if numbers else ""
        return (phone.region_of(ours) if ours else None) or DEFAULT_REGION

    def contacts(self, search: str = "") -> list[contact_store.ContactRow]:
        reader = self._store.reader()
        return (
            contact_store.search_contacts(reader, search, limit=10_000)
            if search
            else (contact_store.contacts(reader))
        )

    def update_contact(self, contact_id: int, name: str, note: str) -> Future[None]:
        return self._store.writer.submit(
            lambda tx: contact_store.update_contact(tx, contact_id, name=name, note=note)
        )

    def preview_contacts_import(self, path: Path) -> ContactsPreview:
        """*Blocking.*  Read a CSV file; raises UnreadableFile or OSError."""
        return self.preview_contacts_data(path.read_bytes())

    def preview_contacts_data(self, data: bytes) -> ContactsPreview:
        if len(data) > contacts_csv.MAX_BYTES:
            raise contacts_csv.UnreadableFile("The file is larger than 20 MB; split it up.")
        preview = contacts_csv.read_contacts(contacts_csv.decode(data), self.default_region())
        known = contact_store.known_numbers(
            self._store.reader(), (c.e164 for c in preview.contacts)
        )
        return ContactsPreview(preview, known)

    def import_contacts(self, preview: ContactsPreview) -> Future[contact_store.UpsertCounts]:
        """Store what a preview read, in one transaction."""
        rows = preview.preview.contacts
        return self._store.writer.submit(lambda tx: contact_store.upsert_contacts(tx, rows))

    def export_contacts(self, out: TextIO) -> int:
        """*Blocking.*  Every contact as CSV (``name,number,note``, E.164 numbers)."""
        return contacts_csv.write_contacts(contact_store.contacts(self._store.reader()), out)


class ContactsPreview:
    """A read CSV file and what importing it would do, for the import dialog."""

    def __init__(self, preview: contacts_csv.ImportPreview, known: set[str]) -> None:
        self.preview = preview
        self.known = frozenset(known)

    @property
    def new(self) -> int:
        return sum(1 for c in self.preview.contacts if c.e164 not in self.known)

    @property
    def merging(self) -> int:
        """Rows that go into a contact already there (or earlier in the file)."""
        return len(self.preview.contacts) - self.new + self.preview.duplicates_in_file

    @property
    def bad_rows(self) -> tuple[contacts_csv.BadRow, ...]:
        return self.preview.bad_rows
