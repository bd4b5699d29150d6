"""The database schema as a list of migrations, one per ``PRAGMA user_version``.

A migration is a SQL script run inside one transaction together with the version bump,
so a crash leaves the database at the old version or the new one, never in between.
Never edit a released migration: add a new one.
"""

from __future__ import annotations

from typing import Final

V1: Final = """
CREATE TABLE our_numbers (
    id              INTEGER PRIMARY KEY,
    e164            TEXT NOT NULL UNIQUE,
    sid             TEXT NOT NULL DEFAULT '',
    friendly_name   TEXT NOT NULL DEFAULT '',
    sms             INTEGER NOT NULL DEFAULT 1,
    mms             INTEGER NOT NULL DEFAULT 0,
    sms_url         TEXT NOT NULL DEFAULT '',
    updated_at      INTEGER NOT NULL
);

CREATE TABLE contacts (
    id              INTEGER PRIMARY KEY,
    e164            TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL DEFAULT ''
);

CREATE TABLE conversations (
    id              INTEGER PRIMARY KEY,
    contact_id      INTEGER NOT NULL REFERENCES contacts(id),
    our_number      TEXT NOT NULL,
    opted_out       INTEGER NOT NULL DEFAULT 0,
    unread_count    INTEGER NOT NULL DEFAULT 0,
    last_message_id INTEGER,
    last_message_at INTEGER NOT NULL DEFAULT 0,
    snippet         TEXT NOT NULL DEFAULT '',
    last_direction  TEXT NOT NULL DEFAULT '',
    last_status     TEXT NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    UNIQUE (contact_id, our_number)
);
CREATE INDEX conversations_by_recency ON conversations (last_message_at DESC, id DESC);

CREATE TABLE messages (
    id              INTEGER PRIMARY KEY,
    sid             TEXT UNIQUE,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id),
    direction       TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    from_number     TEXT NOT NULL,
    to_number       TEXT NOT NULL,
    body            TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL,
    status_rank     INTEGER NOT NULL,
    error_code      INTEGER,
    num_segments    INTEGER NOT NULL DEFAULT 1,
    num_media       INTEGER NOT NULL DEFAULT 0,
    from_city       TEXT NOT NULL DEFAULT '',
    from_state      TEXT NOT NULL DEFAULT '',
    from_zip        TEXT NOT NULL DEFAULT '',
    from_country    TEXT NOT NULL DEFAULT '',
    to_city         TEXT NOT NULL DEFAULT '',
    to_state        TEXT NOT NULL DEFAULT '',
    to_zip          TEXT NOT NULL DEFAULT '',
    to_country      TEXT NOT NULL DEFAULT '',
    messaging_service_sid TEXT NOT NULL DEFAULT '',
    source          TEXT NOT NULL DEFAULT 'webhook',
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX messages_by_thread ON messages (conversation_id, created_at, id);
CREATE INDEX messages_by_time ON messages (created_at);

CREATE TABLE media (
    id              INTEGER PRIMARY KEY,
    message_id      INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    idx             INTEGER NOT NULL,
    media_sid       TEXT NOT NULL DEFAULT '',
    content_type    TEXT NOT NULL DEFAULT '',
    url             TEXT NOT NULL DEFAULT '',
    file            TEXT,
    thumbnail       TEXT,
    size            INTEGER,
    width           INTEGER,
    height          INTEGER,
    state           TEXT NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'done', 'failed', 'refused')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    UNIQUE (message_id, idx)
);
CREATE INDEX media_to_fetch ON media (next_attempt_at) WHERE state = 'pending';

CREATE TABLE outbox (
    message_id      INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
    state           TEXT NOT NULL
                    CHECK (state IN ('queued', 'sending', 'unknown', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    first_attempt_at INTEGER,
    last_error      TEXT NOT NULL DEFAULT '',
    error_code      INTEGER,
    created_at      INTEGER NOT NULL
);
CREATE INDEX outbox_active ON outbox (next_attempt_at)
    WHERE state IN ('queued', 'sending', 'unknown');

-- Status callbacks that arrived before we knew the message (a callback can beat the
-- REST response that tells us the SID); applied as soon as the message is stored.
CREATE TABLE pending_status (
    sid             TEXT PRIMARY KEY,
    status          TEXT NOT NULL,
    status_rank     INTEGER NOT NULL,
    error_code      INTEGER,
    received_at     INTEGER NOT NULL
);

CREATE TABLE sync_state (
    key             TEXT PRIMARY KEY,
    value           TEXT NOT NULL
);

CREATE VIRTUAL TABLE messages_fts USING fts5 (
    body, content='messages', content_rowid='id', tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, body) VALUES (new.id, new.body);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.id, old.body);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF body ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.id, old.body);
    INSERT INTO messages_fts (rowid, body) VALUES (new.id, new.body);
END;
"""

#: The front desk: a note per contact, automatic replies marked (and found again when the
#: backfill sees Twilio's record of them), drafts per conversation, and when each customer
#: last got the away message (so a restart does not send it twice).
V2_FRONT_DESK: Final = """
ALTER TABLE contacts ADD COLUMN note TEXT NOT NULL DEFAULT '';

ALTER TABLE messages ADD COLUMN automatic INTEGER NOT NULL DEFAULT 0;
CREATE INDEX messages_unconfirmed_automatic ON messages (conversation_id, created_at)
    WHERE sid IS NULL AND automatic = 1;

CREATE TABLE drafts (
    conversation_id INTEGER PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
    body            TEXT NOT NULL DEFAULT '',
    -- JSON list of file paths, in order
    attachments     TEXT NOT NULL DEFAULT '[]',
    updated_at      INTEGER NOT NULL
);

CREATE TABLE away_replies (
    contact_id      INTEGER PRIMARY KEY REFERENCES contacts(id) ON DELETE CASCADE,
    sent_at         INTEGER NOT NULL
);
"""

#: "Send again" reuses the failed message's row: the SID of each attempt it replaces is
#: kept here, so a backfill or a late status callback that mentions an old attempt
#: finds the message instead of storing a second copy of it.
V3_EARLIER_SIDS: Final = """
CREATE TABLE earlier_sids (
    sid             TEXT PRIMARY KEY,
    message_id      INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    status          TEXT NOT NULL,
    error_code      INTEGER,
    replaced_at     INTEGER NOT NULL
);
CREATE INDEX earlier_sids_by_message ON earlier_sids (message_id);
"""

#: Scheduled texts: when each is due, whether Twilio holds it (``twilio``: sent with
#: ScheduleType=fixed through the number's Messaging Service) or the outbox sends it when due
#: (``local``), and where it stands: ``late`` waits for staff to say "send now" or "cancel",
#: ``canceling`` waits for Twilio to confirm a cancel, ``reason`` says why it was canceled.
V4_SCHEDULED: Final = """
CREATE TABLE scheduled (
    message_id      INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
    send_at         INTEGER NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('local', 'twilio')),
    state           TEXT NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'late', 'canceling', 'canceled', 'done')),
    approved_late   INTEGER NOT NULL DEFAULT 0,
    reason          TEXT NOT NULL DEFAULT '',
    updated_at      INTEGER NOT NULL
);
CREATE INDEX scheduled_open ON scheduled (send_at)
    WHERE state IN ('pending', 'late', 'canceling');
"""

#: Team mode: the display name of the laptop that sent an outbound message ('' = not known
#: or not in team mode), recorded by that laptop and shared through Twilio Sync.
V5_SENT_BY: Final = """
ALTER TABLE messages ADD COLUMN sent_by TEXT NOT NULL DEFAULT '';
"""

#: Search stays fast for what people type first (two or three letters): FTS5 keeps
#: ready-made doclists for 1-, 2- and 3-character prefixes, so "ki" does not merge every term
#: that starts with it.  The index is derived from ``messages``, so it is dropped and
#: rebuilt from the rows (the triggers name the table, not its definition, and survive).
V6_SEARCH_PREFIXES: Final = """
DROP TABLE messages_fts;
CREATE VIRTUAL TABLE messages_fts USING fts5 (
    body, content='messages', content_rowid='id', tokenize='unicode61 remove_diacritics 2',
    prefix='1 2 3'
);
INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');
"""

#: MIGRATIONS[i] takes the database from version i to version i + 1.
MIGRATIONS: Final[tuple[str, ...]] = (
    V1,
    V2_FRONT_DESK,
    V3_EARLIER_SIDS,
    V4_SCHEDULED,
    V5_SENT_BY,
    V6_SEARCH_PREFIXES,
)
SCHEMA_VERSION: Final = len(MIGRATIONS)
