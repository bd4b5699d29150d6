"""Team mode in two real windows: two laptops (two Cores, two data folders) on one
simulated Twilio account, team timings ten times faster than the real ones (lease TTL
3 s, "is replying…" lives 1 s, colleagues read every 1 s)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from desktop.core import Core
from desktop.simulator.config import SimulatorConfig
from desktop.simulator.server import SimulatedTwilio
from desktop.store import queries
from desktop.store.queries import MessageRow
from desktop.ui.main_window import MainWindow
from desktop.ui.thread_pane import ThreadPane
from desktop.ui.thread_team import REFRESH_MS
from tests.team_helpers import OUR, team_core

CUSTOMER = "+15035550142"


@pytest.fixture
def sim() -> Iterator[SimulatedTwilio]:
    config = SimulatorConfig(status_step_delay=0.02, random_seed=3)
    with SimulatedTwilio(friendly_name="Bright Smiles Dental", config=config) as twilio:
        twilio.add_number(OUR, friendly_name="Front desk")
        yield twilio


@pytest.fixture
def laptop(qtbot, tmp_path: Path, sim: SimulatedTwilio) -> Iterator[Callable[..., MainWindow]]:
    """``laptop("Sam")``: a started Core in team mode named Sam, and its main window."""
    made: list[tuple[Core, MainWindow]] = []

    def make(name: str, *, team_from_environment: bool = True) -> MainWindow:
        core = team_core(tmp_path / name, sim, name, team_from_environment=team_from_environment)
        core.start()
        window = MainWindow(core)
        qtbot.addWidget(window)
        window.resize(1000, 700)
        window.show()
        qtbot.waitExposed(window)
        made.append((core, window))
        return window

    yield make
    for core, window in made:
        window.close()
        core.stop()


def _conversation(core: Core) -> int | None:
    return queries.find_conversation(core.store.reader(), OUR, CUSTOMER)


def _message(pane: ThreadPane, body: str) -> MessageRow | None:
    model = pane.model
    found = (model.item(row).message for row in range(model.rowCount()))
    return next((m for m in found if m.body == body), None)


def _footer(pane: ThreadPane, body: str) -> str:
    message = _message(pane, body)
    return "" if message is None else pane.delegate.footer_text(message)


def _listed(window: MainWindow) -> str:
    """What the conversation list says of the customer's row (screen-reader text)."""
    conversation = _conversation(window.core)
    model = window.list_model
    row = None if conversation is None else model.get(conversation)
    return "" if row is None else model.describe(row)


def _open_the_customer(qtbot, window: MainWindow) -> ThreadPane:
    qtbot.waitUntil(lambda: _conversation(window.core) is not None, timeout=10_000)
    conversation = _conversation(window.core)
    assert conversation is not None
    qtbot.waitUntil(lambda: window.open_conversation(conversation), timeout=5000)
    return window.pane


def test_each_laptop_sees_who_sent_a_text_and_who_is_replying(
    qtbot, laptop: Callable[..., MainWindow], sim: SimulatedTwilio
) -> None:
    a, b = laptop("Sam"), laptop("Alex")
    sim.send_inbound(CUSTOMER, OUR, "Can I move my cleaning to Friday?")
    pane_a, pane_b = _open_the_customer(qtbot, a), _open_the_customer(qtbot, b)

    # Sam answers from laptop A: A's bubble says "You", B's says "Sam".
    reply = "Friday at 3 works, see you then"
    qtbot.keyClicks(pane_a.composer.editor, reply)
    qtbot.keyClick(pane_a.composer.editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: _footer(pane_b, reply).startswith("Sam · "), timeout=10_000)
    qtbot.waitUntil(lambda: _footer(pane_a, reply).startswith("You · "), timeout=5000)
    seen_on_b = _message(pane_b, reply)
    assert seen_on_b is not None
    assert pane_b.model.describe(seen_on_b).startswith("Sam, ")  # what a screen reader says
    # The conversation list too: "Sam: …" on Alex's laptop, "You: …" on Sam's.
    qtbot.waitUntil(lambda: f"Sam: {reply}" in _listed(b), timeout=5000)
    assert f"You: {reply}" in _listed(a)

    # Sam starts typing the next text: B shows "Sam is replying…"; A shows nothing.
    notice_b = b.findChild(QLabel, "replyingNotice")
    assert notice_b is not None
    assert not notice_b.isVisible()
    editor = pane_a.composer.editor
    editor.setFocus()

    def sam_types_and_alex_sees_it() -> bool:
        qtbot.keyClick(editor, Qt.Key.Key_A)
        qtbot.wait(100)
        return notice_b.isVisible()

    qtbot.waitUntil(sam_types_and_alex_sees_it, timeout=10_000)
    stopped_typing = time.monotonic()
    assert notice_b.text() == "Sam is replying…"
    notice_a = a.findChild(QLabel, "replyingNotice")
    assert notice_a is not None
    assert not notice_a.isVisible()

    # Sam stops: the notice goes once the typing entry's TTL has run out.
    team = b.core.team
    assert team is not None
    ttl = team.timings.typing_ttl_s
    qtbot.waitUntil(lambda: not notice_b.isVisible(), timeout=int((ttl + 5) * 1000))
    gone_after = time.monotonic() - stopped_typing
    print(f"'is replying' gone {gone_after:.2f} s after the last keystroke (TTL {ttl} s)")
    # The entry lives ttl s and B drops it when it expires, whenever B reads Sync next;
    # the notice looks once a second.
    assert gone_after <= ttl + REFRESH_MS / 1000 + 1.0


def test_outside_team_mode_bubbles_and_the_composer_show_nothing_new(qtbot, window) -> None:
    from tests.gui.conftest import inbound, outbound

    core = window.core
    first = inbound(core, "Is Friday free?")
    sent = outbound(core, "Yes, 3 pm")
    named = "UPDATE messages SET sent_by = 'Sam' WHERE id = ?"
    core.store.writer.call(lambda tx: tx.execute(named, (sent.message_id,)))
    assert window.open_conversation(first.conversation_id)
    pane = window.pane
    qtbot.waitUntil(lambda: _message(pane, "Yes, 3 pm") is not None, timeout=5000)
    footer = _footer(pane, "Yes, 3 pm")
    assert "Sam" not in footer
    assert "You" not in footer
    assert footer.endswith(" · Delivered")
    qtbot.keyClicks(pane.composer.editor, "Sure")
    notice = window.findChild(QLabel, "replyingNotice")
    assert notice is not None
    assert not notice.isVisible()


def test_the_list_says_which_colleague_sent_the_last_text_only_in_team_mode(
    qtbot, window: MainWindow
) -> None:
    from desktop.team import local
    from tests.gui.conftest import inbound, outbound

    core = window.core
    inbound(core, "Is Friday free?")
    sent = outbound(core, "Yes, 3 pm")  # from another laptop: found in Twilio's log
    [(sid,)] = core.store.reader().execute(
        "SELECT sid FROM messages WHERE id = ?", (sent.message_id,)
    )
    model = window.list_model

    def said() -> str:
        row = model.get(sent.conversation_id)
        return "" if row is None else model.describe(row)

    def team(on: bool, name: str = "Alex") -> None:
        core.settings_store.update(lambda s: s.replace(team_enabled=on, staff_name=name))

    team(True)
    qtbot.waitUntil(lambda: "You: Yes, 3 pm" in said(), timeout=5000)  # sender not known yet
    # The team learns who sent it: the row says so without being opened.
    core.store.writer.call(lambda tx: local.set_sent_by(tx, sid, "Sam"))
    qtbot.waitUntil(lambda: "Sam: Yes, 3 pm" in said(), timeout=5000)
    team(False)
    assert "You: Yes, 3 pm" in said()  # outside team mode the list names nobody
    team(True, name="Sam")
    assert "You: Yes, 3 pm" in said()  # this laptop's own name is "You"


def test_turning_team_mode_on_and_off_updates_the_open_conversation(
    qtbot, laptop: Callable[..., MainWindow], sim: SimulatedTwilio, monkeypatch
) -> None:
    """Settings → Team while a conversation is open: its bubbles say who sent them from
    the moment team mode is on, and stop when it is off, without opening it again."""
    from PySide6.QtWidgets import QMessageBox

    from desktop.ui.team_page import TeamPage

    window = laptop("Sam", team_from_environment=False)
    sim.send_inbound(CUSTOMER, OUR, "Is Friday free?")
    pane = _open_the_customer(qtbot, window)
    reply = "Yes, 3 pm"
    qtbot.keyClicks(pane.composer.editor, reply)
    qtbot.keyClick(pane.composer.editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: _footer(pane, reply).endswith("Delivered"), timeout=10_000)
    assert not _footer(pane, reply).startswith("You · ")

    page = TeamPage(window.core)
    qtbot.addWidget(page)
    agreed = QMessageBox.StandardButton.Yes
    monkeypatch.setattr(QMessageBox, "question", lambda *_args: agreed)
    page.enabled.setChecked(True)  # and Yes to what team mode does to the account
    qtbot.waitUntil(lambda: window.core.team is not None, timeout=10_000)
    qtbot.waitUntil(lambda: _footer(pane, reply).startswith("You · "), timeout=5000)

    page.leave.click()
    qtbot.waitUntil(lambda: window.core.team is None, timeout=10_000)
    qtbot.waitUntil(lambda: not _footer(pane, reply).startswith("You · "), timeout=5000)


def test_turning_team_mode_on_while_signed_out_updates_the_open_conversation(
    qtbot, window: MainWindow
) -> None:
    """No network side to restart (signed out): the open thread still follows the setting."""
    from tests.gui.conftest import inbound, outbound

    core = window.core
    first = inbound(core, "Is Friday free?")
    sent = outbound(core, "Yes, 3 pm")
    named = "UPDATE messages SET sent_by = 'Sam' WHERE id = ?"
    core.store.writer.call(lambda tx: tx.execute(named, (sent.message_id,)))
    assert window.open_conversation(first.conversation_id)
    pane = window.pane
    qtbot.waitUntil(lambda: _message(pane, "Yes, 3 pm") is not None, timeout=5000)
    assert not _footer(pane, "Yes, 3 pm").startswith("Sam · ")

    core.set_team(True, "Alex").result(10)
    qtbot.waitUntil(lambda: _footer(pane, "Yes, 3 pm").startswith("Sam · "), timeout=5000)
    core.set_team(False).result(10)
    qtbot.waitUntil(lambda: not _footer(pane, "Yes, 3 pm").startswith("Sam · "), timeout=5000)
