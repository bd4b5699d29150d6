"""Contacts in and out as CSV: header ``name,number,note``, numbers written as E.164.

Reading is forgiving about what spreadsheets produce — a byte-order mark, Windows-1252
from older Excel, ``;`` as the separator, quoted commas and line breaks inside a cell,
numbers in any format phonenumbers understands (local ones belong to our number's
region) — and strict about what it cannot read: each such row is reported with the line
it *starts* on and the reason, and the rest is still imported.  Two rows with the same
number become one contact.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, TextIO

from desktop.domain.phone import InvalidNumber, to_e164
from desktop.store.contacts import ContactInput, ContactRow, clean_name, clean_note, merged_note

logger = logging.getLogger(__name__)

HEADER: Final = ("name", "number", "note")
_NUMBER_COLUMNS: Final = ("number", "phone", "phone number", "mobile", "cell")
_NAME_COLUMNS: Final = ("name", "full name", "contact")
_NOTE_COLUMNS: Final = ("note", "notes", "comment")
MAX_BYTES: Final = 20 * 1024 * 1024


class UnreadableFile(ValueError):
    """The file as a whole cannot be read as contacts; ``str()`` says why."""


@dataclass(frozen=True, slots=True)
class BadRow:
    line: int
    text: str
    reason: str


@dataclass(frozen=True, slots=True)
class ImportPreview:
    """What an import would do, before anything is stored."""

    #: One per number, duplicates in the file already merged, in file order.
    contacts: tuple[ContactInput, ...]
    bad_rows: tuple[BadRow, ...]
    #: Rows that repeated a number seen earlier in the file.
    duplicates_in_file: int

    @property
    def readable(self) -> bool:
        return bool(self.contacts)


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM); failing that, Windows-1252 as older Excel writes it."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _column(header: list[str], names: tuple[str, ...]) -> int | None:
    folded = [" ".join(h.strip().casefold().split()) for h in header]
    for name in names:
        if name in folded:
            return folded.index(name)
    return None


def read_contacts(text: str, default_region: str) -> ImportPreview:
    """Parse CSV text; raises :class:`UnreadableFile` when there is no usable header."""
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise UnreadableFile(f"Line 1 cannot be read as CSV: {exc}.") from None
    if header is None:
        raise UnreadableFile("The file is empty; the first line should be name,number,note.")
    number_at = _column(header, _NUMBER_COLUMNS)
    if number_at is None:
        raise UnreadableFile(
            "The first line must name the columns, with a column called number: name,number,note."
        )
    name_at = _column(header, _NAME_COLUMNS)
    note_at = _column(header, _NOTE_COLUMNS)

    by_number: dict[str, ContactInput] = {}
    bad: list[BadRow] = []
    duplicates = 0
    next_line = reader.line_num + 1
    while True:
        start = next_line
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            reason = (
                "a quote opened here is never closed"
                if "end of data" in str(exc)
                else f"a quote is out of place ({exc})"
            )
            bad.append(BadRow(start, "", reason))
            next_line = reader.line_num + 1
            continue
        next_line = reader.line_num + 1
        if not any(cell.strip() for cell in row):
            continue  # blank line

        def cell(at: int | None, row: list[str] = row) -> str:
            return row[at] if at is not None and at < len(row) else ""

        raw_number = cell(number_at).strip()
        shown = delimiter.join(row)
        if not raw_number:
            bad.append(BadRow(start, shown, "it has no number"))
            continue
        try:
            e164 = to_e164(raw_number, default_region)
        except InvalidNumber as exc:
            bad.append(BadRow(start, shown, f"{raw_number}: {exc}"))
            continue
        contact = ContactInput(e164, clean_name(cell(name_at)), clean_note(cell(note_at)))
        earlier = by_number.get(e164)
        if earlier is not None:
            duplicates += 1
            contact = ContactInput(
                e164, contact.name or earlier.name, merged_note(earlier.note, contact.note)
            )
        by_number[e164] = contact
    return ImportPreview(tuple(by_number.values()), tuple(bad), duplicates)


def write_contacts(rows: Iterable[ContactRow], out: TextIO) -> int:
    """CSV with the header ``name,number,note``; returns how many contacts were written."""
    writer = csv.writer(out)
    writer.writerow(HEADER)
    count = 0
    for row in rows:
        writer.writerow((row.name, row.e164, row.note))
        count += 1
    return count
