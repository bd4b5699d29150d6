"""Read-only queries, run on the caller's own connection (each thread opens its own).

Designed for the sizes the app must stay fast at (100k messages, 2k conversations): the
conversation list reads a denormalised summary (no aggregation over messages), threads
load in pages by ``(created_at, id)`` keyset, and search uses the FTS5 index newest first.
"""

from __future__ import annotations

import json
import re
import sqlite3
import unicodedata
from typing import TYPE_CHECKING, Any, Final, NamedTuple

if TYPE_CHECKING:
    from desktop.domain.models import Geo

PAGE_SIZE: Final = 200


class ConversationRow(NamedTuple):
    id: int
    contact_id: int
    contact_number: str
    contact_name: str
    our_number: str
    opted_out: bool
    unread_count: int
    last_message_at: int
    snippet: str
    last_direction: str
    last_status: str
    last_message_id: int | None = None


class MediaRow(NamedTuple):
    id: int
    message_id: int
    position: int
    content_type: str
    file: str | None
    thumbnail: str | None
    state: str
    last_error: str
    width: int | None
    height: int | None


class MessageRow(NamedTuple):
    id: int
    sid: str | None
    conversation_id: int
    direction: str
    from_number: str
    to_number: str
    body: str
    status: str
    error_code: int | None
    num_segments: int
    num_media: int
    created_at: int
    from_geo: Geo
    outbox_state: str | None = None
    outbox_error: str = ""
    media: tuple[MediaRow, ...] = ()
    #: An auto-reply Twoway answered with (TwiML), not typed by staff.
    automatic: bool = False
    #: A scheduled text: when it is due (ms), where it stands, why it was canceled.
    scheduled_at: int | None = None
    schedule_state: str = ""
    schedule_reason: str = ""
    #: Team mode: the display name of the laptop that sent it ('' = not known).
    sent_by: str = ""
    #: How it reached the store (``Source``): "app" when this laptop's staff sent it.
    source: str = ""

    @property
    def key(self) -> tuple[int, int]:
        """Position in its thread: messages are ordered by (created_at, id)."""
        return (self.created_at, self.id)


class SearchHit(NamedTuple):
    message_id: int
    conversation_id: int
    created_at: int
    direction: str
    snippet: str
    contact_number: str
    contact_name: str


class NumberRow(NamedTuple):
    e164: str
    sid: str
    friendly_name: str
    sms: bool
    mms: bool
    sms_url: str


_CONVERSATION_SELECT: Final = """
    SELECT c.id, c.contact_id, k.e164, k.name, c.our_number, c.opted_out, c.unread_count,
           c.last_message_at, c.snippet, c.last_direction, c.last_status, c.last_message_id
    FROM conversations c JOIN contacts k ON k.id = c.contact_id
"""


def _conversation(row: tuple[Any, ...]) -> ConversationRow:
    return ConversationRow(
        row[0],
        row[1],
        row[2],
        row[3],
        row[4],
        bool(row[5]),
        row[6],
        row[7],
        row[8],
        row[9],
        row[10],
        row[11],
    )


def conversations(conn: sqlite3.Connection, limit: int | None = None) -> list[ConversationRow]:
    """Every conversation that has a message (or the newest ``limit``), newest first."""
    rows = conn.execute(
        _CONVERSATION_SELECT
        + " WHERE c.last_message_id IS NOT NULL ORDER BY c.last_message_at DESC, c.id DESC"
        + " LIMIT ?",
        (-1 if limit is None else limit,),
    ).fetchall()
    return [_conversation(r) for r in rows]


def conversation(conn: sqlite3.Connection, conversation_id: int) -> ConversationRow | None:
    row = conn.execute(
        _CONVERSATION_SELECT + " WHERE c.id = ?",
        (conversation_id,),
    ).fetchone()
    return None if row is None else _conversation(row)


def conversations_by_id(conn: sqlite3.Connection, ids: list[int]) -> dict[int, ConversationRow]:
    """Several conversations in one statement (a burst touches dozens at a time)."""
    if not ids:
        return {}
    rows = conn.execute(
        _CONVERSATION_SELECT  # noqa: S608
        + " WHERE c.id IN (SELECT value FROM json_each(?))",
        (json.dumps(ids),),
    ).fetchall()
    return {row[0]: _conversation(row) for row in rows}


def colleague_sender(conn: sqlite3.Connection, message_id: int) -> str:
    """Team mode: the staff name that sent this text when it was not this laptop ('' for
    a text sent from here, an auto-reply, an inbound text or a sender not known yet).

    The conversation list asks only for the rows it shows, one primary-key lookup each:
    joining every row's last message costs ~50–90 ms more for 20,000 conversations
    (their last messages are scattered over the messages table's pages)."""
    row = conn.execute(
        "SELECT sent_by FROM messages WHERE id = ? AND direction = 'outbound' "
        "AND source != 'app' AND automatic = 0",
        (message_id,),
    ).fetchone()
    return str(row[0]) if row else ""


def find_conversation(conn: sqlite3.Connection, our_number: str, contact_number: str) -> int | None:
    row = conn.execute(
        "SELECT c.id FROM conversations c JOIN contacts k ON k.id = c.contact_id "
        "WHERE c.our_number = ? AND k.e164 = ?",
        (our_number, contact_number),
    ).fetchone()
    return None if row is None else int(row[0])


def total_unread(conn: sqlite3.Connection) -> int:
    return int(
        conn.execute("SELECT coalesce(sum(unread_count), 0) FROM conversations").fetchone()[0]
    )


_MESSAGE_SELECT: Final = """
    SELECT m.id, m.sid, m.conversation_id, m.direction, m.from_number, m.to_number, m.body,
           m.status, m.error_code, m.num_segments, m.num_media, m.created_at,
           m.from_city, m.from_state, m.from_zip, m.from_country, o.state, o.last_error,
           m.automatic, s.send_at, s.state, s.reason, m.sent_by, m.source
    FROM messages m LEFT JOIN outbox o ON o.message_id = m.id
    LEFT JOIN scheduled s ON s.message_id = m.id
"""


def _messages(conn: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> list[MessageRow]:
    from desktop.domain.models import Geo  # not needed for the first paint

    media_by_message = _media_for(conn, [r[0] for r in rows if r[10]])
    return [
        MessageRow(
            id=r[0],
            sid=r[1],
            conversation_id=r[2],
            direction=r[3],
            from_number=r[4],
            to_number=r[5],
            body=r[6],
            status=r[7],
            error_code=r[8],
            num_segments=r[9],
            num_media=r[10],
            created_at=r[11],
            from_geo=Geo(r[12], r[13], r[14], r[15]),
            outbox_state=r[16],
            outbox_error=r[17] or "",
            media=media_by_message.get(r[0], ()),
            automatic=bool(r[18]),
            scheduled_at=r[19],
            schedule_state=r[20] or "",
            schedule_reason=r[21] or "",
            sent_by=r[22],
            source=r[23],
        )
        for r in rows
    ]


def _media_for(conn: sqlite3.Connection, message_ids: list[int]) -> dict[int, tuple[MediaRow, ...]]:
    if not message_ids:
        return {}
    found: dict[int, list[MediaRow]] = {}
    # json_each keeps this one statement whatever the page size (no parameter limit).
    rows = conn.execute(
        "SELECT id, message_id, idx, content_type, file, thumbnail, state, last_error, width, "
        "height FROM media WHERE message_id IN (SELECT value FROM json_each(?)) "
        "ORDER BY message_id, idx",
        (json.dumps(message_ids),),
    ).fetchall()
    for r in rows:
        found.setdefault(r[1], []).append(MediaRow(*r))
    return {k: tuple(v) for k, v in found.items()}


def thread_page(
    conn: sqlite3.Connection,
    conversation_id: int,
    *,
    before: tuple[int, int] | None = None,
    limit: int = PAGE_SIZE,
) -> list[MessageRow]:
    """Up to ``limit`` messages older than ``before`` (newest page when None), oldest first."""
    if before is None:
        rows = conn.execute(
            _MESSAGE_SELECT + " WHERE m.conversation_id = ? "
            "ORDER BY m.created_at DESC, m.id DESC LIMIT ?",
            (conversation_id, limit),
        ).fetchall()
    else:
        rows = conn.execute(
            _MESSAGE_SELECT + " WHERE m.conversation_id = ? AND (m.created_at, m.id) < (?, ?) "
            "ORDER BY m.created_at DESC, m.id DESC LIMIT ?",
            (conversation_id, before[0], before[1], limit),
        ).fetchall()
    rows.reverse()
    return _messages(conn, rows)


def thread_page_after(
    conn: sqlite3.Connection,
    conversation_id: int,
    *,
    after: tuple[int, int],
    limit: int = PAGE_SIZE,
) -> list[MessageRow]:
    """Up to ``limit`` messages newer than ``after``, oldest first (scrolling back down)."""
    rows = conn.execute(
        _MESSAGE_SELECT + " WHERE m.conversation_id = ? AND (m.created_at, m.id) > (?, ?) "
        "ORDER BY m.created_at, m.id LIMIT ?",
        (conversation_id, after[0], after[1], limit),
    ).fetchall()
    return _messages(conn, rows)


def messages_by_id(conn: sqlite3.Connection, ids: list[int]) -> list[MessageRow]:
    if not ids:
        return []
    rows = conn.execute(
        _MESSAGE_SELECT  # noqa: S608
        + " WHERE m.id IN (SELECT value FROM json_each(?)) "
        "ORDER BY m.created_at, m.id",
        (json.dumps(ids),),
    ).fetchall()
    return _messages(conn, rows)


def count_newer(conn: sqlite3.Connection, conversation_id: int, key: tuple[int, int]) -> int:
    """How many messages of the thread come after ``key`` (to load a page around a hit)."""
    return int(
        conn.execute(
            "SELECT count(*) FROM messages WHERE conversation_id = ? AND (created_at, id) > (?, ?)",
            (conversation_id, key[0], key[1]),
        ).fetchone()[0]
    )


_WORD: Final = re.compile(r"\w+", re.UNICODE)


def fts_query(text: str) -> str | None:
    """Turn what the user typed into a safe FTS5 query: every word, as a prefix, ANDed."""
    words = _WORD.findall(text)
    if not words:
        return None
    return " ".join(f'"{w}"*' for w in words[:12])


#: Past this many matches, the newest ones are found by walking the time index (which
#: stops early) instead of sorting every match by time.
_MANY_MATCHES: Final = 2000


def search(conn: sqlite3.Connection, text: str, limit: int = 100) -> list[SearchHit]:
    """Messages containing every word of ``text`` (prefix match), newest first by time.

    Time, not insertion order: a first backfill stores the newest messages first.  Two
    plans, chosen by how many rows match (a cheap probe of the index): a handful are
    sorted by ``created_at``; thousands are found by walking ``messages_by_time`` from
    the newest end until ``limit`` of them turned up.  The snippets are made last, for
    the rows shown only.
    """
    query = fts_query(text)
    if query is None:
        return []
    many = conn.execute(
        "SELECT 1 FROM messages_fts WHERE messages_fts MATCH ? LIMIT 1 OFFSET ?",
        (query, _MANY_MATCHES),
    ).fetchone()
    if many is None:
        ids = [
            r[0]
            for r in conn.execute(
                "SELECT m.id FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid "
                "WHERE messages_fts MATCH ? ORDER BY m.created_at DESC, m.id DESC LIMIT ?",
                (query, limit),
            )
        ]
    else:
        ids = _newest_matches(conn, query, limit)
    if not ids:
        return []
    # The snippet is cut here rather than by FTS5's snippet(): that needs the MATCH run
    # again per row, and a prefix query rebuilds its whole merged list every time.
    rows = conn.execute(
        """
        SELECT m.id, m.conversation_id, m.created_at, m.direction, m.body, k.e164, k.name
        FROM messages m
        JOIN conversations c ON c.id = m.conversation_id
        JOIN contacts k ON k.id = c.contact_id
        WHERE m.id IN (SELECT value FROM json_each(?))
        ORDER BY m.created_at DESC, m.id DESC
        """,
        (json.dumps(ids),),
    ).fetchall()
    prefixes = [_fold(w) for w in _WORD.findall(text)[:12]]
    return [SearchHit(r[0], r[1], r[2], r[3], snippet(r[4], prefixes), r[5], r[6]) for r in rows]


def _newest_matches(conn: sqlite3.Connection, query: str, limit: int) -> list[int]:
    """The newest ``limit`` matches of a common query, by time.

    The newest messages by time are read from the time index in growing windows; the
    index is asked only for matches among the ids of a window (a rowid range, which FTS5
    seeks to).  Recent messages have close ids whichever order they were stored in, so a
    window or two usually finishes; when not, every match is sorted by the time index.
    """
    window = limit * 20
    for _ in range(3):
        newest = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM messages INDEXED BY messages_by_time "
                "ORDER BY created_at DESC, id DESC LIMIT ?",
                (window,),
            )
        ]
        if not newest:
            return []
        found = {
            r[0]
            for r in conn.execute(
                "SELECT rowid FROM messages_fts WHERE messages_fts MATCH ? "
                "AND rowid BETWEEN ? AND ?",
                (query, min(newest), max(newest)),
            )
        }
        picked = [i for i in newest if i in found][:limit]
        if len(picked) == limit or len(newest) < window:
            return picked
        window *= 8
    return [
        r[0]
        for r in conn.execute(
            "SELECT m.id FROM messages m INDEXED BY messages_by_time "
            "WHERE m.id IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?) "
            "ORDER BY m.created_at DESC, m.id DESC LIMIT ?",
            (query, limit),
        )
    ]


def _fold(word: str) -> str:
    """Lower case without accents, as the index's tokenizer (remove_diacritics) sees it."""
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def snippet(body: str, prefixes: list[str], tokens: int = 10) -> str:
    """Up to ``tokens`` words of ``body`` around the first match, matches in [brackets],
    "…" where text was left out (the shape FTS5's snippet() gives)."""
    words = list(_WORD.finditer(body))
    if not words:
        return body
    hits = [any(_fold(w.group()).startswith(p) for p in prefixes) for w in words]
    first = next((i for i, hit in enumerate(hits) if hit), 0)
    start = max(0, min(first - tokens // 4, len(words) - tokens))
    stop = min(len(words), start + tokens)
    out: list[str] = ["…"] if start > 0 else []
    cursor = words[start].start() if start > 0 else 0
    for i in range(start, stop):
        word = words[i]
        out.append(body[cursor : word.start()])
        out.append(f"[{word.group()}]" if hits[i] else word.group())
        cursor = word.end()
    if stop < len(words):
        out.append("…")
    else:
        out.append(body[cursor:])
    return "".join(out)


def our_numbers(conn: sqlite3.Connection) -> list[NumberRow]:
    rows = conn.execute(
        "SELECT e164, sid, friendly_name, sms, mms, sms_url FROM our_numbers ORDER BY e164"
    ).fetchall()
    return [NumberRow(r[0], r[1], r[2], bool(r[3]), bool(r[4]), r[5]) for r in rows]


def sync_value(conn: sqlite3.Connection, key: str, default: Any = None) -> Any:
    row = conn.execute("SELECT value FROM sync_state WHERE key = ?", (key,)).fetchone()
    return default if row is None else json.loads(row[0])


class MediaJob(NamedTuple):
    media_id: int
    message_id: int
    message_sid: str
    position: int
    url: str
    content_type: str
    attempts: int


def media_to_fetch(conn: sqlite3.Connection, now_ms: int, limit: int = 50) -> list[MediaJob]:
    rows = conn.execute(
        """
        SELECT media.id, m.id, m.sid, media.idx, media.url, media.content_type, media.attempts
        FROM media JOIN messages m ON m.id = media.message_id
        WHERE media.state = 'pending' AND media.next_attempt_at <= ? AND m.sid IS NOT NULL
        ORDER BY media.next_attempt_at, media.id LIMIT ?
        """,
        (now_ms, limit),
    ).fetchall()
    return [MediaJob(*r) for r in rows]


def next_media_attempt_ms(conn: sqlite3.Connection) -> int | None:
    row = conn.execute("SELECT min(next_attempt_at) FROM media WHERE state = 'pending'").fetchone()
    return None if row[0] is None else int(row[0])


# -- sync and outbox (desktop.sync) ------------------------------------------------------------


class OutboxItem(NamedTuple):
    """An outbox row that is due, with what the worker needs to send it."""

    message_id: int
    conversation_id: int
    state: str
    attempts: int
    created_at: int
    first_attempt_at: int | None
    from_number: str
    to_number: str
    body: str
    opted_out: bool
    #: (file name in the outgoing media folder, content type), in order.
    media: tuple[tuple[str, str], ...] = ()
    #: Set when a backfill adopted the row while a request was in flight.
    sid: str | None = None


_OUTBOX_SELECT: Final = """
    SELECT o.message_id, m.conversation_id, o.state, o.attempts, o.created_at,
           o.first_attempt_at, m.from_number, m.to_number, m.body, c.opted_out, m.num_media,
           m.sid
    FROM outbox o
    JOIN messages m ON m.id = o.message_id
    JOIN conversations c ON c.id = m.conversation_id
"""


def _outbox_items(conn: sqlite3.Connection, rows: list[Any]) -> list[OutboxItem]:
    items: list[OutboxItem] = []
    for r in rows:
        media: tuple[tuple[str, str], ...] = ()
        if r[10]:
            media = tuple(
                (str(f), str(t))
                for f, t in conn.execute(
                    "SELECT file, content_type FROM media WHERE message_id = ? "
                    "AND file IS NOT NULL ORDER BY idx",
                    (r[0],),
                ).fetchall()
            )
        items.append(
            OutboxItem(
                r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], bool(r[9]), media, r[11]
            )
        )
    return items


def outbox_due(conn: sqlite3.Connection, now_ms: int, limit: int = 20) -> list[OutboxItem]:
    """Rows to work on now (queued, or unknown: maybe sent), oldest first."""
    rows = conn.execute(
        _OUTBOX_SELECT + " WHERE o.state IN ('queued', 'sending', 'unknown') "
        "AND o.next_attempt_at <= ? ORDER BY o.next_attempt_at, o.message_id LIMIT ?",
        (now_ms, limit),
    ).fetchall()
    return _outbox_items(conn, rows)


def outbox_item(conn: sqlite3.Connection, message_id: int) -> OutboxItem | None:
    """One outbox row as it is now (whatever its state)."""
    rows = conn.execute(_OUTBOX_SELECT + " WHERE o.message_id = ?", (message_id,)).fetchall()
    items = _outbox_items(conn, rows)
    return items[0] if items else None


def next_outbox_attempt_ms(conn: sqlite3.Connection) -> int | None:
    row = conn.execute(
        "SELECT min(next_attempt_at) FROM outbox WHERE state IN ('queued', 'sending', 'unknown')"
    ).fetchone()
    return None if row[0] is None else int(row[0])


def outbox_state(conn: sqlite3.Connection, message_id: int) -> tuple[str, str, int | None] | None:
    """(state, last error, error code) of one outbox row."""
    row = conn.execute(
        "SELECT state, last_error, error_code FROM outbox WHERE message_id = ?", (message_id,)
    ).fetchone()
    return None if row is None else (str(row[0]), str(row[1]), row[2])


def message_id_for_sid(conn: sqlite3.Connection, sid: str) -> int | None:
    """The message ``sid`` belongs to, also when it names an attempt "Send again" replaced."""
    row = conn.execute(
        "SELECT id FROM messages WHERE sid = ? "
        "UNION ALL SELECT message_id FROM earlier_sids WHERE sid = ? LIMIT 1",
        (sid, sid),
    ).fetchone()
    return None if row is None else int(row[0])


def known_sids(conn: sqlite3.Connection, sids: list[str]) -> set[str]:
    """Which of ``sids`` are already stored (as a message, or as an attempt it replaced)."""
    if not sids:
        return set()
    rows = conn.execute(
        "SELECT sid FROM messages WHERE sid IN (SELECT value FROM json_each(?1)) "
        "UNION SELECT sid FROM earlier_sids WHERE sid IN (SELECT value FROM json_each(?1))",
        (json.dumps(sids),),
    ).fetchall()
    return {str(r[0]) for r in rows}


def unsettled_outbound(conn: sqlite3.Connection, since_ms: int, limit: int = 100) -> list[str]:
    """SIDs of recent outbound messages whose delivery outcome is not known yet."""
    rows = conn.execute(
        """
        SELECT sid FROM messages
        WHERE direction = 'outbound' AND sid IS NOT NULL AND created_at >= ?
          AND status IN ('scheduled', 'accepted', 'queued', 'sending', 'sent')
        ORDER BY created_at DESC LIMIT ?
        """,
        (since_ms, limit),
    ).fetchall()
    return [str(r[0]) for r in rows]
