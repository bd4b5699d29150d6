"""File → Contacts…: the table, search, editing, and CSV import (with its preview) and
export, on a real core and store."""

from __future__ import annotations

import csv
from pathlib import Path

from PySide6.QtCore import Qt

from desktop.core import Core
from desktop.store import contacts as contact_store
from desktop.store.contacts import ContactInput
from desktop.ui.contacts_model import NAME, NOTE, NUMBER
from desktop.ui.contacts_view import ContactsDialog
from desktop.ui.frontdesk_access import front_desk
from tests.gui.conftest import CUSTOMER, inbound

CSV_TEXT = (
    "name,number,note\n"
    'Rosa Diaz,(503) 555-0142,"Prefers mornings, texts only"\n'
    "Amy Santiago,+1 503 555 0177,\n"
    "No Number,,just a note\n"
    "Bad Number,555,\n"
    'Charles Boyle,503-555-0188,"two\nlines"\n'
)


def add_contact(core: Core, e164: str, name: str, note: str = "") -> None:
    contact = ContactInput(e164, name, note)
    core.store.writer.call(lambda tx: contact_store.upsert_contact(tx, contact))


def open_contacts(qtbot, core: Core) -> ContactsDialog:
    dialog = ContactsDialog(front_desk(core))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


def test_the_table_shows_name_number_and_note_and_search_narrows_it(qtbot, gui_core: Core) -> None:
    add_contact(gui_core, "+15035550142", "Rosa Diaz", "Prefers mornings")
    add_contact(gui_core, "+15035550177", "Amy Santiago")
    dialog = open_contacts(qtbot, gui_core)
    model = dialog.table.model()
    assert model.rowCount() == 2
    assert model.index(0, NAME).data() == "Amy Santiago"
    assert model.index(1, NUMBER).data() == "(503) 555-0142", "numbers read as ours do"
    assert model.index(1, NOTE).data() == "Prefers mornings"
    qtbot.keyClicks(dialog.search, "mornings")
    qtbot.waitUntil(lambda: model.rowCount() == 1)
    assert [r.name for r in dialog.shown_rows()] == ["Rosa Diaz"]
    dialog.search.clear()
    qtbot.keyClicks(dialog.search, "555 0177")
    qtbot.waitUntil(lambda: [r.name for r in dialog.shown_rows()] == ["Amy Santiago"])


def test_editing_a_name_renames_the_conversation(qtbot, gui_core: Core) -> None:
    result = inbound(gui_core, "Hi!", contact=CUSTOMER)
    dialog = open_contacts(qtbot, gui_core)
    model = dialog.table.model()
    assert model.rowCount() == 1
    assert model.setData(model.index(0, NAME), "Rosa Diaz", Qt.ItemDataRole.EditRole)
    assert model.setData(model.index(0, NOTE), "VIP", Qt.ItemDataRole.EditRole)

    def saved() -> bool:
        row = contact_store.contact_by_number(gui_core.store.reader(), CUSTOMER)
        return row is not None and (row.name, row.note) == ("Rosa Diaz", "VIP")

    qtbot.waitUntil(saved)
    from desktop.store import queries

    conversation = queries.conversation(gui_core.store.reader(), result.conversation_id)
    assert conversation is not None
    assert conversation.contact_name == "Rosa Diaz"
    assert not model.flags(model.index(0, NUMBER)) & Qt.ItemFlag.ItemIsEditable


def test_import_previews_added_merged_and_unreadable_rows_then_imports(
    qtbot, gui_core: Core, tmp_path: Path
) -> None:
    add_contact(gui_core, "+15035550177", "Amy S.")
    source = tmp_path / "clients.csv"
    source.write_text(CSV_TEXT, encoding="utf-8")
    dialog = open_contacts(qtbot, gui_core)
    dialog.preview_import(source)
    qtbot.waitUntil(lambda: dialog.import_dialog is not None and dialog.import_dialog.isVisible())
    preview = dialog.import_dialog
    assert preview is not None
    assert preview.summary.text().startswith(
        "2 new contacts will be added; 1 row merged into contacts you have"
    )
    table = preview.bad_rows
    cells = [[table.model().index(r, c).data() for c in (0, 1)] for r in range(table.rowCount())]
    lines = [line for line, _why in cells]
    reasons = [why for _line, why in cells]
    assert lines == ["4", "5"]
    assert reasons[0] == "it has no number"
    assert reasons[1].startswith("555")
    preview.grab().save("/tmp/desk_contacts_import.png")
    assert contact_store.contact_by_number(gui_core.store.reader(), "+15035550142") is None
    preview.import_button.click()
    qtbot.waitUntil(lambda: dialog.table.model().rowCount() == 3)
    assert "Added 2 contacts, merged 1" in dialog.status._text.text()
    rosa = contact_store.contact_by_number(gui_core.store.reader(), "+15035550142")
    assert rosa is not None
    assert rosa.note == "Prefers mornings, texts only"
    dialog.grab().save("/tmp/desk_contacts.png")


def test_a_file_without_a_number_column_is_refused_with_the_reason(
    qtbot, gui_core: Core, tmp_path: Path
) -> None:
    source = tmp_path / "wrong.csv"
    source.write_text("first,last\nRosa,Diaz\n", encoding="utf-8")
    dialog = open_contacts(qtbot, gui_core)
    dialog.preview_import(source)
    qtbot.waitUntil(lambda: dialog.import_button.isEnabled())
    assert dialog.import_dialog is None
    assert "wrong.csv was not imported" in dialog.status._text.text()
    assert "column called number" in dialog.status._text.text()


def test_export_writes_name_number_note_with_e164_numbers(
    qtbot, gui_core: Core, tmp_path: Path
) -> None:
    add_contact(gui_core, "+15035550142", "Rosa Diaz", "Prefers mornings, texts only")
    out = tmp_path / "out.csv"
    dialog = open_contacts(qtbot, gui_core)
    dialog.export_to(out)
    qtbot.waitUntil(lambda: out.exists() and dialog.export_button.isEnabled())
    with out.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows == [
        ["name", "number", "note"],
        ["Rosa Diaz", "+15035550142", "Prefers mornings, texts only"],
    ]
    assert "Exported 1 contacts" in dialog.status._text.text()


def test_the_window_opens_contacts_from_the_file_menu(qtbot, window) -> None:
    assert "Contacts" in window.contacts_action.text().replace("&", "")
    window.contacts_action.trigger()
    dialog = window.contacts_dialog
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible)
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not dialog.isVisible())
