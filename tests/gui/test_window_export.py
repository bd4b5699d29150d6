"""File → Export Conversations… in the window: the same file as ``twoway export``, with
the pictures copied beside it, progress shown, and a stop that leaves nothing behind."""

from __future__ import annotations

import csv
import json
import threading
from pathlib import Path

from desktop.core import Core
from desktop.domain.models import MediaRef
from desktop.frontdesk.export_job import ExportStopped, export_conversations
from desktop.store import writes
from desktop.store.export import export
from tests.gui.conftest import inbound, outbound, write_picture


def picture_message(core: Core) -> str:
    result = inbound(
        core,
        "Here is the crack in my crown",
        media=(MediaRef(0, "https://api.twilio.com/media/ME1", "image/jpeg"),),
    )
    (media_id,) = [
        row[0]
        for row in core.store.reader().execute(
            "SELECT id FROM media WHERE message_id = ?", (result.message_id,)
        )
    ]
    name = "ab/picture.jpg"
    write_picture(core.paths.media / name)
    core.store.writer.call(
        lambda tx: writes.media_stored(
            tx,
            media_id,
            file=name,
            thumbnail=None,
            content_type="image/jpeg",
            size=100,
            width=640,
            height=480,
        )
    )
    return name


def test_json_export_from_the_menu_has_the_cli_shape_and_copies_the_pictures(
    qtbot, window, gui_core: Core, tmp_path: Path
) -> None:
    inbound(gui_core, "Can I come at 3?")
    outbound(gui_core, "Yes, see you then")
    name = picture_message(gui_core)
    out = tmp_path / "exports" / "all.json"
    out.parent.mkdir()
    dialog = window.start_export(out, "json")
    with qtbot.waitSignal(dialog.finished_export, timeout=10_000) as done:
        pass
    result = done.args[0]
    assert result is not None, dialog.status._text.text()
    dialog.grab().save("/tmp/desk_export.png")
    written = json.loads(out.read_text(encoding="utf-8"))

    import io

    cli = io.StringIO()
    export(gui_core.paths.database, tmp_path / "exports" / "all-pictures", cli, "json")
    assert written == json.loads(cli.getvalue()), "the same shape as twoway export"
    messages = [m for c in written["conversations"] for m in c["messages"]]
    assert {m["body"] for m in messages} == {
        "Can I come at 3?",
        "Yes, see you then",
        "Here is the crack in my crown",
    }
    (media,) = [x for m in messages for x in m["media"]]
    copy = Path(media["file"])
    assert copy == out.parent / "all-pictures" / name
    assert copy.read_bytes() == (gui_core.paths.media / name).read_bytes()
    assert "Exported 3 messages" in dialog.status._text.text()
    assert dialog.bar.value() == dialog.bar.maximum()
    assert not (out.parent / "all.json.part").exists()


def test_csv_export_has_one_row_per_message(qtbot, window, gui_core: Core, tmp_path: Path) -> None:
    inbound(gui_core, "Hello, with a comma")
    outbound(gui_core, "Hi!\nTwo lines")
    out = tmp_path / "all.csv"
    dialog = window.start_export(out, "csv")
    with qtbot.waitSignal(dialog.finished_export, timeout=10_000):
        pass
    with out.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["body"] for r in rows] == ["Hello, with a comma", "Hi!\nTwo lines"]
    assert rows[0]["direction"] == "inbound"


def test_progress_is_reported_and_a_stop_leaves_no_file(gui_core: Core, tmp_path: Path) -> None:
    for n in range(30):
        inbound(gui_core, f"Text {n}", contact=f"+1503555{n:04d}")
    seen: list[tuple[int, int, str]] = []
    out = tmp_path / "all.json"
    export_conversations(
        gui_core.paths.database,
        gui_core.paths.media,
        out,
        progress=lambda done, total, what: seen.append((done, total, what)),
    )
    assert (30, 30, "conversations") in seen
    assert [d for d, _t, w in seen if w == "conversations"] == sorted(
        d for d, _t, w in seen if w == "conversations"
    )

    stop = threading.Event()
    stopped_out = tmp_path / "stopped.json"

    def halfway(done: int, _total: int, _what: str) -> None:
        if done == 10:
            stop.set()

    try:
        export_conversations(
            gui_core.paths.database, gui_core.paths.media, stopped_out, progress=halfway, stop=stop
        )
    except ExportStopped:
        pass
    else:
        raise AssertionError("the export should have stopped")
    assert list(tmp_path.glob("stopped*")) == []


def test_the_file_menu_offers_export(window) -> None:
    texts = [a.text().replace("&", "") for a in window._menus["&File"].actions()]
    assert "Export Conversations…" in texts
    assert "Contacts…" in texts
