"""The setup holder (atomic file, one guarded way to change, subscribers told after the
save) and the FrontDesk use cases the UI will call."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from desktop.config import Paths
from desktop.domain.frontdesk_setup import FrontDeskSetup, SetupFileError, load_setup
from desktop.domain.quick_replies import QuickReply
from desktop.frontdesk.demo import demo_setup
from desktop.frontdesk.service import FrontDesk
from desktop.frontdesk.setup_file import SetupHolder, open_for_app, setup_path
from desktop.store import contacts, writes
from desktop.store.contacts import ContactInput
from desktop.store.service import Store


def test_a_new_folder_gets_the_default_setup_written(tmp_path: Path) -> None:
    holder = SetupHolder.open(tmp_path / "frontdesk.json")
    assert load_setup((tmp_path / "frontdesk.json").read_text(encoding="utf-8")) == holder.current
    assert not holder.current.auto_replies.away.enabled


def test_replace_saves_before_subscribers_hear_and_refuses_bad_values(tmp_path: Path) -> None:
    path = tmp_path / "frontdesk.json"
    holder = SetupHolder.open(path)
    heard: list[tuple[FrontDeskSetup, FrontDeskSetup]] = []
    unsubscribe = holder.subscribe(
        lambda value: heard.append((value, load_setup(path.read_text(encoding="utf-8"))))
    )
    changed = dataclasses.replace(holder.current, quick_replies=(QuickReply("Hi", "Hello!"),))
    holder.replace(changed)
    assert heard == [(changed, changed)]
    assert holder.current == changed

    before = path.read_bytes()
    duplicate = dataclasses.replace(
        changed, quick_replies=(QuickReply("Hi", "a"), QuickReply("hi", "b"))
    )
    with pytest.raises(SetupFileError, match="already a quick reply"):
        holder.replace(duplicate)
    assert path.read_bytes() == before
    assert holder.current == changed
    assert len(heard) == 1

    unsubscribe()
    holder.update(lambda s: dataclasses.replace(s, quick_replies=()))
    assert len(heard) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["frontdesk.json"]  # no temp files left


def test_a_damaged_file_is_kept_aside_and_the_defaults_used(tmp_path: Path) -> None:
    path = tmp_path / "frontdesk.json"
    path.write_text('{"quick_replies": [{"name": 1}]}', encoding="utf-8")
    holder = SetupHolder.open(path)
    assert holder.current.quick_replies == ()
    kept = [p for p in tmp_path.iterdir() if p.name.startswith("frontdesk.json.unreadable-")]
    assert len(kept) == 1
    assert json.loads(kept[0].read_text(encoding="utf-8")) == {"quick_replies": [{"name": 1}]}


def test_the_old_auto_reply_text_becomes_the_away_message(tmp_path: Path) -> None:
    holder = open_for_app(tmp_path, legacy_away_text="  Thanks! We reply 9–5.  ")
    away = holder.current.auto_replies.away
    assert (away.enabled, away.text) == (True, "Thanks! We reply 9–5.")
    assert holder.current.business_hours.has_hours
    # Once the file exists, the old setting no longer matters.
    assert open_for_app(tmp_path, legacy_away_text="Other").current == holder.current


def test_the_demo_starts_with_its_own_setup(tmp_path: Path) -> None:
    holder = open_for_app(tmp_path, demo=True)
    assert holder.current == demo_setup()
    assert holder.current.auto_replies.away.enabled
    assert setup_path(tmp_path).exists()


@pytest.fixture
def desk(store: Store, paths: Paths) -> FrontDesk:
    holder = SetupHolder.open(setup_path(paths.data_dir), initial=demo_setup())
    return FrontDesk(store, holder, business_name=lambda: "Demo Dental Care")


def test_quick_replies_found_by_slash_and_rendered_for_the_conversation(
    desk: FrontDesk, store: Store
) -> None:
    conversation = store.writer.call(
        lambda tx: writes.ensure_conversation(tx, "+15035550100", "+15035550142")
    )
    store.writer.call(
        lambda tx: contacts.upsert_contact(tx, ContactInput("+15035550142", "Maria Alvarez"))
    )
    [confirm] = desk.quick_replies("/conf")
    assert desk.render_quick_reply(confirm, conversation) == (
        "Hi Maria, you're all set. See you soon!"
    )
    [hours] = desk.quick_replies("/hou")
    assert desk.render_quick_reply(hours, None) == (
        "Demo Dental Care is open Mon–Thu 8:00–12:00, 13:00–17:00; Fri 8:00–14:00; closed Sat, Sun."
    )
    # Without a name the placeholder stays for staff to fill in.
    other = store.writer.call(
        lambda tx: writes.ensure_conversation(tx, "+15035550100", "+15035550177")
    )
    assert desk.render_quick_reply(confirm, other).startswith("Hi {first_name},")
    assert len(desk.quick_replies("/")) == 4


def test_drafts_through_the_front_desk(desk: FrontDesk, store: Store) -> None:
    conversation = store.writer.call(
        lambda tx: writes.ensure_conversation(tx, "+15035550100", "+15035550142")
    )
    desk.save_draft(conversation, "Half a thought", [Path("/tmp/a.png")]).result(timeout=10)
    draft = desk.draft(conversation)
    assert draft is not None
    assert draft.attachments == ("/tmp/a.png",)
    desk.clear_draft(conversation).result(timeout=10)
    assert desk.draft(conversation) is None


def test_contacts_preview_counts_new_and_merging_with_our_numbers_region(
    desk: FrontDesk, store: Store, tmp_path: Path
) -> None:
    store.writer.call(
        lambda tx: writes.save_our_numbers(tx, [("+442079460000", "PN1", "", True, True, "")])
    )
    assert desk.default_region() == "GB"
    store.writer.call(
        lambda tx: contacts.upsert_contact(tx, ContactInput("+442079460958", "Carol"))
    )
    source = tmp_path / "c.csv"
    source.write_text("name,number,note\nCarol,020 7946 0958,\nDan,07911 123456,\nX,1,\n")
    preview = desk.preview_contacts_import(source)
    assert (preview.new, preview.merging, len(preview.bad_rows)) == (1, 1, 1)
    counts = desk.import_contacts(preview).result(timeout=10)
    assert (counts.added, counts.merged) == (1, 1)
    assert [c.e164 for c in desk.contacts("dan")] == ["+447911123456"]
