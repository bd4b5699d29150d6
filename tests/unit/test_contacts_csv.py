"""Contacts CSV: bad rows reported by starting line, quoted commas and line breaks, duplicates
merged by E.164, what spreadsheets write (BOM, Windows-1252, semicolons)."""

from __future__ import annotations

import csv
import io

import pytest

from desktop.frontdesk.contacts_csv import (
    UnreadableFile,
    decode,
    read_contacts,
    write_contacts,
)
from desktop.store.contacts import ContactRow

MESSY = (
    "name,number,note\r\n"
    '"Lovelace, Ada",(503) 555-0142,"Prefers mornings\r\nAllergic to latex"\r\n'
    "Bob,555-01,too short\r\n"
    "\r\n"
    'Carol,+44 20 7946 0958,"Says ""hi"""\r\n'
    "No number,,\r\n"
    '"Dan","503.555.0177","line one\nline two\nline three"\n'
    "Ada again,+1 503 555 0142,Allergic to latex\n"
    "Eve,call me,\n"
)


def test_a_messy_file_reads_what_it_can_and_names_the_lines_it_cannot() -> None:
    preview = read_contacts(MESSY, "US")
    assert [(c.name, c.e164) for c in preview.contacts] == [
        ("Ada again", "+15035550142"),
        ("Carol", "+442079460958"),
        ("Dan", "+15035550177"),
    ]
    ada = preview.contacts[0]
    assert ada.note == "Prefers mornings\nAllergic to latex"  # merged, not repeated
    assert preview.contacts[1].note == 'Says "hi"'
    assert preview.contacts[2].note == "line one\nline two\nline three"
    assert preview.duplicates_in_file == 1
    lines = [(bad.line, bad.reason.split(":")[0]) for bad in preview.bad_rows]
    # Ada's row spans lines 2–3; Bob is on line 4, the blank line 5 is skipped; Dan's row
    # spans 8–10, so Eve is on line 12.
    assert lines == [(4, "555-01"), (7, "it has no number"), (12, "call me")]
    assert "Bob" in preview.bad_rows[0].text


def test_numbers_without_a_country_code_take_the_default_region() -> None:
    text = "name,number,note\nJean,01 42 68 53 00,\nAda,+1 503 555 0142,\n"
    preview = read_contacts(text, "FR")
    assert [c.e164 for c in preview.contacts] == ["+33142685300", "+15035550142"]


def test_columns_in_another_order_with_other_names_and_semicolons() -> None:
    text = "Notes;Phone;Full Name;Extra\nVIP;(503) 555-0142;Ada;x\n"
    preview = read_contacts(text, "US")
    assert [(c.name, c.e164, c.note) for c in preview.contacts] == [("Ada", "+15035550142", "VIP")]


def test_a_byte_order_mark_and_windows_1252_are_read() -> None:
    utf8 = "\ufeffname,number,note\nZoë,5035550142,\n".encode()
    assert read_contacts(decode(utf8), "US").contacts[0].name == "Zoë"
    cp1252 = "name,number,note\nRenée,5035550142,café\n".encode("cp1252")
    contact = read_contacts(decode(cp1252), "US").contacts[0]
    assert (contact.name, contact.note) == ("Renée", "café")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("name,phone_no,note\nAda,5035550142,\n", "column called number"),
        ("Ada,5035550142,notes\n", "column called number"),
    ],
)
def test_a_file_without_a_usable_header_is_refused(text: str, reason: str) -> None:
    with pytest.raises(UnreadableFile, match=reason):
        read_contacts(text, "US")


def test_an_unterminated_quote_is_reported_at_the_line_it_starts() -> None:
    text = (
        'name,number,note\nAda,5035550142,ok\nCy,5035550188,"quoted"twice\n'
        'Di,5035550199,\nBob,5035550177,"never closed\nmore\n'
    )
    preview = read_contacts(text, "US")
    assert [c.name for c in preview.contacts] == ["Ada", "Di"]
    assert [(bad.line, bad.reason[:7]) for bad in preview.bad_rows] == [
        (3, "a quote"),
        (5, "a quote"),
    ]
    assert "never closed" in preview.bad_rows[1].reason


def test_export_writes_the_header_and_e164_numbers_and_reads_back() -> None:
    rows = [
        ContactRow(1, "+15035550142", "Lovelace, Ada", "Prefers mornings\nAllergic"),
        ContactRow(2, "+442079460958", "", 'Says "hi"'),
    ]
    out = io.StringIO(newline="")
    assert write_contacts(rows, out) == 2
    text = out.getvalue()
    assert text.startswith("name,number,note\r\n")
    assert list(csv.reader(io.StringIO(text, newline=""))) == [
        ["name", "number", "note"],
        ["Lovelace, Ada", "+15035550142", "Prefers mornings\nAllergic"],
        ["", "+442079460958", 'Says "hi"'],
    ]
    again = read_contacts(text, "US")
    assert [(c.e164, c.name, c.note) for c in again.contacts] == [
        (r.e164, r.name, r.note) for r in rows
    ]
