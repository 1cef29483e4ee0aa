"""Conversation history in SQLite: durable messages, streaming checkpoints, paged loading, search, export.

Blocking work lives in `HistoryStore` (thread-safe, opened lazily on first use); `AsyncHistory` runs it off
the event loop. `sqlite3` itself is imported only when the store first opens, so importing this module
costs nothing before the TUI's first frame.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import re
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Literal, Sequence

from tui_agent.errors import TuiAgentError
from tui_agent.service.attachments import StoredImage

if TYPE_CHECKING:
    import sqlite3

log = logging.getLogger("tui_agent.service.history")

MessageRole = Literal["user", "assistant", "system"]
MessageStatus = Literal["complete", "streaming", "stopped", "error", "interrupted"]
ROLES: tuple[str, ...] = ("user", "assistant", "system")
STATUSES: tuple[str, ...] = ("complete", "streaming", "stopped", "error", "interrupted")
_FINAL_STATUSES = ("complete", "stopped", "error")
# `parent_id` default of add_message/start_answer: the leaf of the branch on screen (the conversation goes on).
AFTER_CURRENT: Literal["current"] = "current"
ParentId = int | None | Literal["current"]

# Highlight markers inside search snippets; parsed out into `SearchHit.highlights` before anyone sees them.
_MARK_OPEN, _MARK_CLOSE = "\x02", "\x03"
_TITLE_MAX = 60
PAGE_CACHE_KIB = 256  # SQLite page cache per connection (its default is 2,000 KiB)


class HistoryError(TuiAgentError):
    """The history database cannot be opened, read or written; the message says which file and what to do."""

    exit_code = 1


# ---------------------------------------------------------------------------------------------------------
# Schema and migrations. `PRAGMA user_version` is the number of steps applied; each step runs in its own
# transaction together with the version bump, so a crash mid-upgrade leaves the previous version intact.
# Append new steps; never edit a released one.

_V1 = (
    """CREATE TABLE conversations (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        title TEXT NOT NULL DEFAULT '',
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    )""",
    """CREATE TABLE messages (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        role TEXT NOT NULL,
        content TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL DEFAULT 'complete',
        created_at INTEGER NOT NULL
    )""",
    "CREATE INDEX messages_by_conversation ON messages(conversation_id, id)",
)

# Version 2: which profile/provider/model produced each answer (and the conversation's current one), the
# error and usage of an answer, its visible thinking, and which process owns a row while it streams.
_V2 = (
    "ALTER TABLE messages ADD COLUMN profile TEXT",
    "ALTER TABLE messages ADD COLUMN provider TEXT",
    "ALTER TABLE messages ADD COLUMN model TEXT",
    "ALTER TABLE messages ADD COLUMN error TEXT",
    "ALTER TABLE messages ADD COLUMN input_tokens INTEGER",
    "ALTER TABLE messages ADD COLUMN output_tokens INTEGER",
    "ALTER TABLE messages ADD COLUMN thinking TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE messages ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE messages ADD COLUMN writer TEXT",
    "UPDATE messages SET updated_at = created_at",
    "ALTER TABLE conversations ADD COLUMN profile TEXT",
    "ALTER TABLE conversations ADD COLUMN provider TEXT",
    "ALTER TABLE conversations ADD COLUMN model TEXT",
    "CREATE INDEX conversations_by_update ON conversations(updated_at, id)",
)

# Conversation trees: every message names its parent (retry and edit make siblings, nothing is replaced),
# each conversation remembers the leaf of the branch on screen, an answer keeps the provider's stop reason
# (a `max_tokens` cut can be continued) and the offsets where /continue appended to it. A conversation
# written before this step was a straight line: each message's parent is the one before it.
_V_TREE = (
    "ALTER TABLE messages ADD COLUMN parent_id INTEGER",
    "ALTER TABLE messages ADD COLUMN stop_reason TEXT",
    "ALTER TABLE messages ADD COLUMN continued_at TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE conversations ADD COLUMN current_id INTEGER",
    "UPDATE messages SET parent_id = (SELECT MAX(p.id) FROM messages p "
    "WHERE p.conversation_id = messages.conversation_id AND p.id < messages.id)",
    "UPDATE conversations SET current_id = (SELECT MAX(m.id) FROM messages m WHERE m.conversation_id = conversations.id)",
    "CREATE INDEX messages_by_parent ON messages(parent_id, id)",
)

# Per-conversation settings (`/system`, `/set`): a JSON object of the values the conversation overrides.
_V_SETTINGS = ("ALTER TABLE conversations ADD COLUMN settings TEXT NOT NULL DEFAULT '{}'",)

# Attachments: the images sent with a user turn, by content hash (the files live in the data directory's
# attachments/ folder; text attachments are part of the message's content as fenced blocks).
_V_ATTACHMENTS = (
    """CREATE TABLE message_images (
        message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        media_type TEXT NOT NULL,
        name TEXT NOT NULL DEFAULT '',
        size INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (message_id, position)
    )""",
)

MIGRATIONS: tuple[tuple[str, ...], ...] = (_V1, _V2, _V_TREE, _V_SETTINGS, _V_ATTACHMENTS)
SCHEMA_VERSION = len(MIGRATIONS)

# The search index is not a versioned step: it depends on whether this Python's SQLite has FTS5, and a
# database may meet Pythons with and without it. Missing triggers mean "index stale": rebuilt when FTS5
# is next available.
_FTS_TABLE = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5("
    "content, content='messages', content_rowid='id', tokenize='unicode61 remove_diacritics 2')"
)
_FTS_TRIGGERS = {
    "messages_fts_insert": """CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
        INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content); END""",
    "messages_fts_delete": """CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
        INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content); END""",
    "messages_fts_update": """CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages BEGIN
        INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
        INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content); END""",
}

_MESSAGE_COLUMNS = (
    "id, conversation_id, role, content, status, created_at, updated_at, profile, provider, model, "
    "error, input_tokens, output_tokens, thinking, parent_id, stop_reason, continued_at"
)
# The ids of the branch on screen, as the table `up`: from the conversation's current leaf up to its first turn.
_BRANCH_IDS = (
    "WITH RECURSIVE up(id) AS ("
    " SELECT current_id FROM conversations WHERE id = ? AND current_id IS NOT NULL"
    " UNION ALL SELECT m.parent_id FROM messages m JOIN up ON m.id = up.id WHERE m.parent_id IS NOT NULL)"
)
# Every message's parent, in an index: walking a branch's ids (a reopen's tail, the sibling marks, a switch) reads
# this index instead of the rows, whose text spreads 2,000 messages over hundreds of pages. Not a versioned step:
# an index changes nothing an older tui-agent reads or writes (SQLite keeps it up to date for it too).
_TREE_INDEX = "CREATE INDEX IF NOT EXISTS messages_tree ON messages(conversation_id, id, parent_id)"
_CONVERSATION_COLUMNS = (
    "c.id, c.title, c.created_at, c.updated_at, c.profile, c.provider, c.model, "
    "(SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id)"
)

# Store instances open in this process, by writer token: a streaming row written by this process but by
# none of these is left over from a store that was closed or crashed, and counts as interrupted.
_LIVE_WRITERS: set[str] = set()
_HOST = ""


# ---------------------------------------------------------------------------------------------------------
# Records


def _dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc)


def _iso(when: datetime) -> str:
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class Conversation:
    """One conversation; `profile`/`provider`/`model` are the ones it last used (for reopening it)."""

    id: int
    title: str
    created_at: datetime
    updated_at: datetime
    profile: str | None = None
    provider: str | None = None
    model: str | None = None
    message_count: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "title": self.title, "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at), "profile": self.profile, "provider": self.provider,
            "model": self.model, "message_count": self.message_count,
        }


@dataclass(frozen=True, slots=True)
class Message:
    """One stored message; an assistant message names the profile, provider and model that wrote it."""

    id: int
    conversation_id: int
    role: MessageRole
    content: str
    status: MessageStatus
    created_at: datetime
    updated_at: datetime
    profile: str | None = None
    provider: str | None = None
    model: str | None = None
    error: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    thinking: str = ""
    parent_id: int | None = None  # the message this one answers or follows; None for a conversation's first turns
    stop_reason: str | None = None  # as the provider said it ("end_turn", "max_tokens", "length", …)
    continued_at: tuple[int, ...] = ()  # offsets in `content` where /continue appended text
    images: tuple["StoredImage", ...] = ()  # filled by `messages()` (reopen, export), empty elsewhere

    def to_json(self) -> dict[str, Any]:
        document = {
            "id": self.id, "parent_id": self.parent_id, "role": self.role, "content": self.content,
            "status": self.status, "created_at": _iso(self.created_at), "updated_at": _iso(self.updated_at),
            "profile": self.profile, "provider": self.provider, "model": self.model, "error": self.error,
            "input_tokens": self.input_tokens, "output_tokens": self.output_tokens, "thinking": self.thinking,
            "stop_reason": self.stop_reason, "continued_at": list(self.continued_at),
        }
        if self.images:
            document["images"] = [
                {"name": i.name, "media_type": i.media_type, "sha256": i.sha256, "file": f"attachments/{i.file_name}"}
                for i in self.images
            ]
        return document


@dataclass(frozen=True, slots=True)
class Page:
    """A run of consecutive messages, oldest first; `has_older` says whether earlier ones exist."""

    messages: list[Message]
    has_older: bool

    @property
    def oldest_id(self) -> int | None:
        """The id to pass to `messages_before` for the next older page."""
        return self.messages[0].id if self.messages else None


@dataclass(frozen=True, slots=True)
class SearchHit:
    """A message that matched a search: a snippet with the matched spans as (start, end) offsets into it."""

    conversation_id: int
    conversation_title: str
    message_id: int
    role: MessageRole
    snippet: str
    highlights: tuple[tuple[int, int], ...]
    created_at: datetime


def _message(row: Sequence[Any], images: tuple["StoredImage", ...] = ()) -> Message:
    created = _dt(row[5])
    return Message(
        id=row[0], conversation_id=row[1], role=_shared(row[2]), content=row[3], status=_shared(row[4]),
        created_at=created, updated_at=created if row[6] == row[5] else _dt(row[6]),
        profile=_shared(row[7]), provider=_shared(row[8]), model=_shared(row[9]),
        error=row[10], input_tokens=row[11], output_tokens=row[12], thinking=row[13] or "",
        parent_id=row[14], stop_reason=_shared(row[15]),
        continued_at=tuple(int(part) for part in (row[16] or "").split(",") if part), images=images,
    )


def _shared(text: str | None) -> str | None:
    """One copy of a short string that thousands of messages repeat (role, status, profile, provider, model):
    SQLite hands out a new one per row, and a reopened branch holds every message of it."""
    return None if text is None else sys.intern(text)


def _conversation(row: Sequence[Any]) -> Conversation:
    return Conversation(
        id=row[0], title=row[1], created_at=_dt(row[2]), updated_at=_dt(row[3]), profile=row[4],
        provider=row[5], model=row[6], message_count=row[7],
    )


# ---------------------------------------------------------------------------------------------------------
# Checkpointing


class Checkpointer:
    """Decides when a growing answer is worth writing again: after `every_chars` new characters or
    `every_ms` milliseconds since the last save, whichever comes first.

    It only accumulates and decides; the caller writes (`store.checkpoint(id, cp.text, cp.thinking)`) and
    then calls `saved()`, so the same helper serves sync and async callers.
    """

    def __init__(
        self, *, every_ms: int = 500, every_chars: int = 2048, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._every_s = every_ms / 1000
        self._every_chars = every_chars
        self._clock = clock
        self._text: list[str] = []
        self._thinking: list[str] = []
        self._unsaved = 0
        self._saved_size = 0  # characters written by the last save (the whole answer then)
        self._last_save = clock()

    @property
    def text(self) -> str:
        """The whole answer so far."""
        return "".join(self._text)

    @property
    def thinking(self) -> str:
        """The whole visible thinking so far."""
        return "".join(self._thinking)

    @property
    def pending(self) -> bool:
        """Whether anything arrived since the last save."""
        return self._unsaved > 0

    def add(self, fragment: str, *, thinking: bool = False) -> bool:
        """Append a fragment of the answer (or of its thinking); return True when a checkpoint is due now."""
        (self._thinking if thinking else self._text).append(fragment)
        self._unsaved += len(fragment)
        return self.due()

    def due(self) -> bool:
        """True when unsaved text has piled up past the size limit or waited past the time limit.

        Each save rewrites the whole answer, so both limits grow with it: a save waits for a quarter more text
        and for `every_ms` per megabyte saved. Saving every 2 KB of a 5 MB answer wrote gigabytes (minutes of
        SQLite writes the stream waited for); this way all the saves of an answer write at most about five
        times its size plus two megabytes a second, and a crash loses at most a quarter of it.
        """
        if not self._unsaved:
            return False
        size_due = self._unsaved >= max(self._every_chars, self._saved_size // 4)
        wait = self._every_s * max(1.0, self._saved_size / 1_000_000)
        return size_due or self._clock() - self._last_save >= wait

    def saved(self) -> None:
        """Record that the current text has been written."""
        self._saved_size += self._unsaved
        self._unsaved = 0
        self._last_save = self._clock()


# ---------------------------------------------------------------------------------------------------------
# The store


def _reported(action: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Turn a SQLite failure inside a store method into a HistoryError that says what could not be done."""

    def wrap(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def run(self: "HistoryStore", *args: Any, **kwargs: Any) -> Any:
            try:
                return method(self, *args, **kwargs)
            except HistoryError as err:
                self.last_failure = str(err)
                raise
            except Exception as err:
                import sqlite3

                if not isinstance(err, sqlite3.Error):
                    raise
                failure = HistoryError(
                    f"Could not {action} in the history database {self.path} ({err}); "
                    f"{_hint(err, 'check the disk has space and the file is writable')}."
                )
                self.last_failure = str(failure)
                raise failure from err

        return run

    return wrap


class HistoryStore:
    """Conversations and messages in one SQLite file; every method is blocking and thread-safe.

    Nothing touches the disk until the first call (or `open()`). On open the schema is migrated and any
    answer left `streaming` by a process that is gone is marked `interrupted`.
    """

    def __init__(self, path: str | os.PathLike[str], *, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self._clock = clock
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._fts = False
        self._writer = ""
        self.interrupted_on_open = 0  # answers found cut off by a crash or kill at the last open
        self.set_aside: SetAside | None = None  # a damaged database found at open, moved aside unchanged
        self.last_failure: str | None = None  # the last open/read/write failure, for the chat screen's banner

    # -- lifecycle ------------------------------------------------------------------------------------

    def open(self) -> None:
        """Open (creating, migrating and recovering as needed); calling it again does nothing."""
        with self._lock:
            self._connection()

    def close(self) -> None:
        """Close the connection; a later call opens it again."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
                _LIVE_WRITERS.discard(self._writer)

    @property
    def full_text_search(self) -> bool:
        """True when search uses the FTS5 index, False when it falls back to substring matching."""
        with self._lock:
            self._connection()
            return self._fts

    @property
    def schema_version(self) -> int:
        """The schema version of the open database (`PRAGMA user_version`)."""
        with self._lock:
            return self._connection().execute("PRAGMA user_version").fetchone()[0]

    def _connection(self) -> "sqlite3.Connection":
        if self._conn is None:
            self._conn = self._open()
        return self._conn

    def _open(self) -> "sqlite3.Connection":
        import sqlite3

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            if not self.path.exists():
                # Conversations are private: create the file owner-only before SQLite does (its -wal and -shm
                # files copy these permissions).
                os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
        except OSError as err:
            raise HistoryError(
                f"Cannot create the history database at {self.path} ({err.strerror or err}); "
                "check that the data directory is writable."
            ) from err
        conn: sqlite3.Connection | None = None
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=5.0)
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA journal_mode = WAL")
            # FULL makes each commit durable through a power cut, which is the point of checkpointing; the
            # writes are small and happen off the event loop.
            conn.execute("PRAGMA synchronous = FULL")
            # SQLite's own page cache would keep up to 2 MB of pages read (a long branch, the recovery scan at
            # open) for the life of the app; the file stays in the OS's cache, so rereading a page is cheap.
            conn.execute(f"PRAGMA cache_size = -{PAGE_CACHE_KIB}")
            self._migrate(conn)
            self._fts = _has_fts5(conn)
            self._ensure_search_index(conn)
            conn.execute(_TREE_INDEX)
            self._writer = f"{_host()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
            self.interrupted_on_open = self._recover(conn)
        except sqlite3.DatabaseError as err:
            if conn is not None:
                conn.close()
            if _is_damage(err) and self.set_aside is None:
                self.set_aside = self._move_aside(err)
                return self._open()  # a fresh database in its place: new conversations are saved again
            raise HistoryError(
                f"Cannot open the history database {self.path} ({err}); "
                f"{_hint(err, 'move the file aside to start a fresh history')}."
            ) from err
        except BaseException:
            if conn is not None:
                conn.close()
            raise
        _LIVE_WRITERS.add(self._writer)
        conn.create_function("tui_contains", 2, _contains, deterministic=True)
        return conn

    def _move_aside(self, err: Exception) -> "SetAside":
        """Rename the damaged file (and its -wal/-shm) to `history.db.damaged-STAMP*`, byte for byte."""
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(self._clock()))
        moved = self.path.with_name(f"{self.path.name}.damaged-{stamp}")
        try:
            for suffix in ("", "-wal", "-shm"):
                source = self.path.with_name(self.path.name + suffix)
                if source.exists():
                    os.replace(source, moved.with_name(moved.name + suffix))
        except OSError as move_err:
            raise HistoryError(
                f"The history database {self.path} is damaged ({err}) and could not be moved aside "
                f"({move_err.strerror or move_err}); move it yourself to start a fresh history."
            ) from err
        log.warning("history: %s is damaged (%s); moved aside to %s and started a new one", self.path, err, moved)
        return SetAside(original=self.path, moved_to=moved, reason=str(err))

    def _migrate(self, conn: "sqlite3.Connection") -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise HistoryError(
                f"The history database {self.path} was written by a newer tui-agent (schema {version}, this "
                f"version knows up to {SCHEMA_VERSION}); upgrade tui-agent or move the file aside."
            )
        for number in range(version + 1, SCHEMA_VERSION + 1):
            with _transaction(conn):
                for statement in MIGRATIONS[number - 1]:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {number}")
            log.info("history: migrated %s to schema %d", self.path, number)

    def _ensure_search_index(self, conn: "sqlite3.Connection") -> None:
        present = {
            name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        } & set(_FTS_TRIGGERS)
        if not self._fts:
            log.warning(
                "history: this Python's SQLite has no FTS5, so search falls back to slower substring matching"
            )
            if present:
                # Triggers that write to an FTS5 table would make every insert fail here; without them the
                # index goes stale, and is rebuilt below the next time FTS5 is available.
                with _transaction(conn):
                    for name in present:
                        conn.execute(f"DROP TRIGGER {name}")
            return
        if present == set(_FTS_TRIGGERS):
            return
        with _transaction(conn):
            conn.execute(_FTS_TABLE)
            for name in present:
                conn.execute(f"DROP TRIGGER {name}")
            for sql in _FTS_TRIGGERS.values():
                conn.execute(sql)
            conn.execute("INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')")
        log.info("history: built the search index of %s", self.path)

    def _recover(self, conn: "sqlite3.Connection") -> int:
        rows = conn.execute("SELECT id, writer FROM messages WHERE status = 'streaming'").fetchall()
        orphans = [(message_id,) for message_id, writer in rows if not _writer_alive(writer)]
        if orphans:
            with _transaction(conn):
                conn.executemany(
                    "UPDATE messages SET status = 'interrupted', writer = NULL WHERE id = ? AND status = 'streaming'",
                    orphans,
                )
            log.info("history: marked %d answer(s) cut off by an earlier crash as interrupted", len(orphans))
        return len(orphans)

    # -- conversations --------------------------------------------------------------------------------

    @_reported("create a conversation")
    def create_conversation(
        self, title: str = "", *, profile: str | None = None, provider: str | None = None,
        model: str | None = None,
    ) -> Conversation:
        """Start a conversation; an empty title is filled from its first user message."""
        now = self._now()
        with self._lock, self._tx() as conn:
            cursor = conn.execute(
                "INSERT INTO conversations (title, created_at, updated_at, profile, provider, model) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (title.strip(), now, now, profile, provider, model),
            )
            return self._fetch_conversation(conn, cursor.lastrowid)

    @_reported("read a conversation")
    def get_conversation(self, conversation_id: int) -> Conversation | None:
        """The conversation with this id, or None when there is none."""
        with self._lock:
            return self._fetch_conversation(self._connection(), conversation_id)

    @_reported("list conversations")
    def list_conversations(self, limit: int = 100, offset: int = 0) -> list[Conversation]:
        """Conversations, most recently updated first."""
        with self._lock:
            rows = self._connection().execute(
                f"SELECT {_CONVERSATION_COLUMNS} FROM conversations c "
                "ORDER BY c.updated_at DESC, c.id DESC LIMIT ? OFFSET ?",
                (limit, offset),
            ).fetchall()
            return [_conversation(row) for row in rows]

    def last_conversation(self) -> Conversation | None:
        """The most recently updated conversation (to resume on start), or None when there is none."""
        found = self.list_conversations(limit=1)
        return found[0] if found else None

    @_reported("rename a conversation")
    def rename(self, conversation_id: int, title: str) -> Conversation:
        """Give a conversation a new title."""
        with self._lock, self._tx() as conn:
            cursor = conn.execute(
                "UPDATE conversations SET title = ? WHERE id = ?", (title.strip(), conversation_id)
            )
            if not cursor.rowcount:
                raise self._no_conversation(conversation_id)
            return self._fetch_conversation(conn, conversation_id)

    @_reported("record the conversation's profile")
    def set_profile(self, conversation_id: int, profile: str, provider: str, model: str) -> None:
        """Record the profile the conversation now uses (a switch before its next answer)."""
        with self._lock, self._tx() as conn:
            cursor = conn.execute(
                "UPDATE conversations SET profile = ?, provider = ?, model = ? WHERE id = ?",
                (profile, provider, model, conversation_id),
            )
            if not cursor.rowcount:
                raise self._no_conversation(conversation_id)

    @_reported("record the conversation's settings")
    def set_settings(self, conversation_id: int, settings: dict[str, Any]) -> None:
        """Replace the conversation's own settings (system prompt and parameters; absent keys use the profile's)."""
        with self._lock, self._tx() as conn:
            cursor = conn.execute(
                "UPDATE conversations SET settings = ? WHERE id = ?", (json.dumps(settings), conversation_id)
            )
            if not cursor.rowcount:
                raise self._no_conversation(conversation_id)

    @_reported("read the conversation's settings")
    def settings(self, conversation_id: int) -> dict[str, Any]:
        """The conversation's own settings; {} when it has none (a damaged value counts as none)."""
        with self._lock:
            row = self._connection().execute(
                "SELECT settings FROM conversations WHERE id = ?", (conversation_id,)
            ).fetchone()
        if row is None:
            raise self._no_conversation(conversation_id)
        try:
            value = json.loads(row[0] or "{}")
        except ValueError:
            log.warning("conversation %s: its stored settings are not JSON; using the profile's", conversation_id)
            return {}
        return value if isinstance(value, dict) else {}

    @_reported("delete a conversation")
    def delete(self, conversation_id: int) -> bool:
        """Delete a conversation and all its messages; False when it did not exist."""
        with self._lock, self._tx() as conn:
            return conn.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,)).rowcount > 0

    # -- messages -------------------------------------------------------------------------------------

    @_reported("save a message")
    def add_message(
        self, conversation_id: int, role: MessageRole, content: str, *, status: MessageStatus = "complete",
        profile: str | None = None, provider: str | None = None, model: str | None = None,
        error: str | None = None, input_tokens: int | None = None, output_tokens: int | None = None,
        thinking: str = "", parent_id: ParentId = AFTER_CURRENT, images: Sequence["StoredImage"] = (),
    ) -> Message:
        """Write a finished message (a user turn, or an answer that did not stream), with the images it carried.

        It follows `parent_id` (by default the current branch's leaf; None: a first turn) and becomes the leaf.
        """
        _check(role, ROLES, "role")
        _check(status, STATUSES, "status")
        return self._insert(
            conversation_id, role, content, status, profile, provider, model, error, input_tokens,
            output_tokens, thinking, writer=None, parent_id=parent_id, images=images,
        )

    @_reported("start saving an answer")
    def start_answer(
        self, conversation_id: int, *, profile: str | None, provider: str | None, model: str | None,
        parent_id: ParentId = AFTER_CURRENT,
    ) -> Message:
        """Write an empty assistant message marked `streaming`, to be checkpointed and then finished."""
        return self._insert(
            conversation_id, "assistant", "", "streaming", profile, provider, model, None, None, None, "",
            writer=self._writer_token(), parent_id=parent_id,
        )

    @_reported("continue the answer")
    def resume_answer(self, message_id: int) -> Message:
        """Mark a stored answer `streaming` again for /continue, recording where its text stops now."""
        with self._lock, self._tx() as conn:
            cursor = conn.execute(
                "UPDATE messages SET status = 'streaming', writer = ?, error = NULL, stop_reason = NULL, "
                "continued_at = ltrim(continued_at || ',' || length(content), ','), updated_at = ? "
                "WHERE id = ? AND role = 'assistant' AND status != 'streaming'",
                (self._writer_token(), self._now(), message_id),
            )
            if not cursor.rowcount:
                raise HistoryError(f"There is no finished answer {message_id} in the history to continue.")
            return self._fetch_message(conn, message_id)

    @_reported("save the answer so far")
    def checkpoint(self, message_id: int, content: str, thinking: str | None = None) -> None:
        """Save the text of a streaming answer so far (what a crash would keep)."""
        with self._lock, self._tx() as conn:
            conn.execute(
                # An answer another process wrongly took for abandoned goes back to streaming; a finished
                # one is never overwritten by a late checkpoint.
                "UPDATE messages SET content = ?, thinking = COALESCE(?, thinking), updated_at = ?, "
                "status = 'streaming', writer = ? WHERE id = ? AND status IN ('streaming', 'interrupted')",
                (content, thinking, self._now(), self._writer, message_id),
            )

    @_reported("save the answer")
    def finish_answer(
        self, message_id: int, content: str, *, status: MessageStatus = "complete", error: str | None = None,
        input_tokens: int | None = None, output_tokens: int | None = None, thinking: str | None = None,
        stop_reason: str | None = None,
    ) -> Message:
        """Write the final text and status (`complete`, `stopped` or `error`) of a streamed answer."""
        _check(status, _FINAL_STATUSES, "final status")
        now = self._now()
        with self._lock, self._tx() as conn:
            cursor = conn.execute(
                "UPDATE messages SET content = ?, status = ?, error = ?, input_tokens = ?, output_tokens = ?, "
                "thinking = COALESCE(?, thinking), stop_reason = ?, updated_at = ?, writer = NULL WHERE id = ?",
                (content, status, error, input_tokens, output_tokens, thinking, stop_reason, now, message_id),
            )
            if not cursor.rowcount:
                raise HistoryError(f"There is no message {message_id} in the history to finish.")
            message = self._fetch_message(conn, message_id)
            conn.execute(
                "UPDATE conversations SET updated_at = ? WHERE id = ?", (now, message.conversation_id)
            )
            return message

    @_reported("read a message")
    def get_message(self, message_id: int) -> Message | None:
        """The message with this id, or None."""
        with self._lock:
            return self._fetch_message(self._connection(), message_id)

    @_reported("read messages")
    def messages_latest(self, conversation_id: int, limit: int = 50) -> Page:
        """The newest `limit` messages of a conversation, oldest first (the tail a UI renders first)."""
        with self._lock:
            return self._page(
                "WHERE conversation_id = ? ORDER BY id DESC LIMIT ?", (conversation_id, limit + 1), limit
            )

    @_reported("read messages")
    def messages_before(self, conversation_id: int, before_id: int, limit: int = 50) -> Page:
        """The `limit` messages just older than message `before_id`, oldest first (back-fill on scroll)."""
        with self._lock:
            return self._page(
                "WHERE conversation_id = ? AND id < ? ORDER BY id DESC LIMIT ?",
                (conversation_id, before_id, limit + 1), limit,
            )

    @_reported("read messages")
    def messages(self, conversation_id: int) -> list[Message]:
        """Every message of a conversation, every branch, oldest first (for export of the tree)."""
        with self._lock:
            rows = self._connection().execute(
                f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE conversation_id = ? ORDER BY id",
                (conversation_id,),
            ).fetchall()
            return self._with_images(conversation_id, rows)

    def _with_images(self, conversation_id: int, rows: list[Sequence[Any]]) -> list[Message]:
        """Messages from rows, each with the images its user turn carried (reopen, export, requests)."""
        images: dict[int, list[StoredImage]] = {}
        for message_id, sha, media_type, name, size in self._connection().execute(
            "SELECT i.message_id, i.sha256, i.media_type, i.name, i.size FROM message_images i "
            "JOIN messages m ON m.id = i.message_id WHERE m.conversation_id = ? ORDER BY i.message_id, i.position",
            (conversation_id,),
        ):
            images.setdefault(message_id, []).append(StoredImage(sha, media_type, name, size))
        return [_message(row, tuple(images.get(row[0], ()))) for row in rows]

    # -- the tree -------------------------------------------------------------------------------------

    @_reported("read the conversation")
    def branch(self, conversation_id: int) -> list[Message]:
        """The branch on screen: from the first turn down to the current leaf, oldest first."""
        with self._lock:
            rows = self._connection().execute(
                f"{_BRANCH_IDS} SELECT {_MESSAGE_COLUMNS} FROM messages WHERE id IN (SELECT id FROM up) ORDER BY id",
                (conversation_id,),
            ).fetchall()
            return self._with_images(conversation_id, rows)

    @_reported("read the conversation")
    def branch_tail(self, conversation_id: int, limit: int) -> tuple[list[Message], int]:
        """The last `limit` messages of the branch on screen, oldest first, and how many come before them.

        Only the ids of the whole branch are walked; the messages themselves are read for the tail alone, so
        reopening a long conversation costs what a short one does until its older part is needed.
        """
        with self._lock:
            conn = self._connection()
            ids = self._branch_ids(conn, conversation_id)
            tail = ids[-limit:] if limit > 0 else []
            if not tail:
                return [], len(ids)
            # ids grow down a branch, so the highest ones are the leaf's end of it
            rows = conn.execute(
                f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE id IN ({', '.join('?' * len(tail))}) ORDER BY id", tail
            ).fetchall()
            return self._with_images(conversation_id, rows), len(ids) - len(tail)

    @staticmethod
    def _branch_ids(conn: "sqlite3.Connection", conversation_id: int) -> list[int]:
        """The ids of the branch on screen, oldest first: from the current leaf up, by the parents in _TREE_INDEX."""
        found = conn.execute("SELECT current_id FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
        parents = dict(conn.execute("SELECT id, parent_id FROM messages WHERE conversation_id = ?", (conversation_id,)))
        ids: list[int] = []
        at = found[0] if found else None
        while at is not None and len(ids) <= len(parents):  # the bound: a damaged file cannot make it loop
            ids.append(at)
            at = parents.get(at)
        ids.reverse()
        return ids

    @_reported("read the conversation")
    def children(self, conversation_id: int) -> dict[int | None, list[int]]:
        """Every message's children's ids, oldest first, keyed by parent id (None: the first turns)."""
        with self._lock:
            rows = self._connection().execute(
                "SELECT id, parent_id FROM messages WHERE conversation_id = ? ORDER BY id", (conversation_id,)
            ).fetchall()
        tree: dict[int | None, list[int]] = {}
        for message_id, parent_id in rows:
            tree.setdefault(parent_id, []).append(message_id)
        return tree

    @_reported("switch branch")
    def select(self, conversation_id: int, message_id: int) -> list[Message]:
        """Put `message_id` on the branch shown: the new leaf is its newest descendant (newest child each step).

        Returns the new path. Nothing is deleted: the branch left stays in the tree, one sibling away.
        """
        with self._lock:
            self._make_current(conversation_id, message_id)
            return self.branch(conversation_id)

    @_reported("switch branch")
    def select_tail(self, conversation_id: int, message_id: int, limit: int) -> tuple[list[Message], int]:
        """`select`, reading back only the new branch's last `limit` messages and how many come before them
        (as `branch_tail`): a switch to a long branch costs what a short one does until its older part is needed."""
        with self._lock:
            self._make_current(conversation_id, message_id)
            return self.branch_tail(conversation_id, limit)

    def _make_current(self, conversation_id: int, message_id: int) -> None:
        """Make the newest descendant of `message_id` (newest child at each step) the conversation's current leaf."""
        tree = self.children(conversation_id)
        if not any(message_id in ids for ids in tree.values()):
            raise HistoryError(f"There is no message {message_id} in conversation {conversation_id}.")
        leaf = message_id
        while tree.get(leaf):
            leaf = tree[leaf][-1]
        with self._tx() as conn:
            conn.execute("UPDATE conversations SET current_id = ? WHERE id = ?", (leaf, conversation_id))

    # -- search ---------------------------------------------------------------------------------------

    @_reported("search")
    def search(self, query: str, *, limit: int = 50, conversation_id: int | None = None) -> list[SearchHit]:
        """Messages containing every word of `query` (the last word as a prefix), newest first."""
        words = query.split()
        if not words:
            return []
        with self._lock:
            conn = self._connection()
            if self._fts:
                return self._search_fts(conn, words, limit, conversation_id)
            return self._search_substring(conn, words, limit, conversation_id)

    def _search_fts(
        self, conn: "sqlite3.Connection", words: list[str], limit: int, conversation_id: int | None
    ) -> list[SearchHit]:
        # Every word becomes a quoted FTS5 string, so user text is never read as query syntax.
        match = " ".join('"' + word.replace('"', '""') + '"' for word in words) + "*"
        where, args = "messages_fts MATCH ?", [match]
        if conversation_id is not None:
            where += " AND m.conversation_id = ?"
            args.append(conversation_id)
        rows = conn.execute(
            "SELECT m.conversation_id, c.title, m.id, m.role, "
            "snippet(messages_fts, 0, ?, ?, '…', 24), m.created_at "
            "FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid "
            "JOIN conversations c ON c.id = m.conversation_id "
            f"WHERE {where} ORDER BY messages_fts.rowid DESC LIMIT ?",
            (_MARK_OPEN, _MARK_CLOSE, *args, limit),
        ).fetchall()
        return [
            SearchHit(cid, title, mid, role, *_parse_marks(snippet), _dt(created))
            for cid, title, mid, role, snippet, created in rows
        ]

    def _search_substring(
        self, conn: "sqlite3.Connection", words: list[str], limit: int, conversation_id: int | None
    ) -> list[SearchHit]:
        clauses = ["tui_contains(m.content, ?)"] * len(words)
        args: list[Any] = list(words)
        if conversation_id is not None:
            clauses.append("m.conversation_id = ?")
            args.append(conversation_id)
        rows = conn.execute(
            "SELECT m.conversation_id, c.title, m.id, m.role, m.content, m.created_at "
            "FROM messages m JOIN conversations c ON c.id = m.conversation_id "
            f"WHERE {' AND '.join(clauses)} ORDER BY m.id DESC LIMIT ?",
            (*args, limit),
        ).fetchall()
        return [
            SearchHit(cid, title, mid, role, *_substring_snippet(content, words), _dt(created))
            for cid, title, mid, role, content, created in rows
        ]

    # -- export ---------------------------------------------------------------------------------------

    @_reported("export a conversation")
    def export_json(self, conversation_id: int) -> str:
        """The whole conversation, every branch, as a JSON document (UTF-8 text).

        Each message names its `parent_id`; `current_id` is the leaf of the branch that was on screen.
        """
        conversation, messages = self._export_data(conversation_id)
        with self._lock:
            current = self._connection().execute(
                "SELECT current_id FROM conversations WHERE id = ?", (conversation_id,)
            ).fetchone()
        document = {
            "format": "tui-agent-conversation",
            "version": 2,
            "conversation": {**conversation.to_json(), "current_id": current[0] if current else None},
            "messages": [message.to_json() for message in messages],
        }
        return json.dumps(document, ensure_ascii=False, indent=2) + "\n"

    @_reported("export a conversation")
    def export_markdown(self, conversation_id: int) -> str:
        """The branch on screen as Markdown: one section per message, naming who wrote each answer.

        Where /continue appended to an answer, the text carries CONTINUE_MARK at that point.
        """
        conversation, _every = self._export_data(conversation_id)
        messages = self.branch(conversation_id)
        out = [
            f"# {conversation.title or 'Untitled conversation'}",
            "",
            f"*Exported from tui-agent · started {_human(conversation.created_at)} · "
            f"{len(messages)} message(s)*",
        ]
        for message in messages:
            out += ["", f"## {_author(message)} · {_human(message.created_at)}", ""]
            if message.thinking:
                out += ["<details><summary>Thinking</summary>", "", message.thinking, "", "</details>", ""]
            out.append(with_continue_marks(message) if message.content else "*(no text)*")
            for image in message.images:
                out += ["", f"*Attached image: {image.name} ({image.media_type}) — attachments/{image.file_name}*"]
            note = _status_note(message)
            if note:
                out += ["", f"> {note}"]
        return "\n".join(out) + "\n"

    def _export_data(self, conversation_id: int) -> tuple[Conversation, list[Message]]:
        with self._lock:
            conversation = self.get_conversation(conversation_id)
            if conversation is None:
                raise self._no_conversation(conversation_id)
            return conversation, self.messages(conversation_id)

    # -- internals ------------------------------------------------------------------------------------

    def _now(self) -> int:
        return int(self._clock() * 1000)

    @contextmanager
    def _tx(self) -> Iterator["sqlite3.Connection"]:
        conn = self._connection()
        with _transaction(conn):
            yield conn

    def _writer_token(self) -> str:
        self._connection()
        return self._writer

    def _insert(
        self, conversation_id: int, role: str, content: str, status: str, profile: str | None,
        provider: str | None, model: str | None, error: str | None, input_tokens: int | None,
        output_tokens: int | None, thinking: str, *, writer: str | None, parent_id: ParentId = AFTER_CURRENT,
        images: Sequence["StoredImage"] = (),
    ) -> Message:
        now = self._now()
        with self._lock, self._tx() as conn:
            exists = conn.execute(
                "SELECT title, current_id FROM conversations WHERE id = ?", (conversation_id,)
            ).fetchone()
            if exists is None:
                raise self._no_conversation(conversation_id)
            parent = exists[1] if parent_id == AFTER_CURRENT else parent_id
            if parent is not None and not conn.execute(
                "SELECT 1 FROM messages WHERE id = ? AND conversation_id = ?", (parent, conversation_id)
            ).fetchone():
                raise HistoryError(f"There is no message {parent} in conversation {conversation_id} to follow.")
            cursor = conn.execute(
                "INSERT INTO messages (conversation_id, role, content, status, created_at, updated_at, profile, "
                "provider, model, error, input_tokens, output_tokens, thinking, writer, parent_id) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (conversation_id, role, content, status, now, now, profile, provider, model, error,
                 input_tokens, output_tokens, thinking, writer, parent),
            )
            conn.executemany(
                "INSERT INTO message_images (message_id, position, sha256, media_type, name, size) VALUES (?, ?, ?, ?, ?, ?)",
                [(cursor.lastrowid, i, im.sha256, im.media_type, im.name, im.size) for i, im in enumerate(images)],
            )
            updates, args = ["updated_at = ?", "current_id = ?"], [now, cursor.lastrowid]
            if role == "assistant" and profile is not None:
                updates.append("profile = ?, provider = ?, model = ?")
                args += [profile, provider, model]
            if role == "user" and not exists[0]:
                updates.append("title = ?")
                args.append(_title_from(content))
            conn.execute(f"UPDATE conversations SET {', '.join(updates)} WHERE id = ?", (*args, conversation_id))
            return self._fetch_message(conn, cursor.lastrowid)

    def _page(self, where: str, args: tuple[Any, ...], limit: int) -> Page:
        rows = self._connection().execute(f"SELECT {_MESSAGE_COLUMNS} FROM messages {where}", args).fetchall()
        has_older = len(rows) > limit
        return Page(messages=[_message(row) for row in reversed(rows[:limit])], has_older=has_older)

    @staticmethod
    def _fetch_message(conn: "sqlite3.Connection", message_id: int | None) -> Message | None:
        row = conn.execute(f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE id = ?", (message_id,)).fetchone()
        return _message(row) if row else None

    @staticmethod
    def _fetch_conversation(conn: "sqlite3.Connection", conversation_id: int | None) -> Conversation | None:
        row = conn.execute(
            f"SELECT {_CONVERSATION_COLUMNS} FROM conversations c WHERE c.id = ?", (conversation_id,)
        ).fetchone()
        return _conversation(row) if row else None

    def _no_conversation(self, conversation_id: int) -> HistoryError:
        return HistoryError(
            f"There is no conversation {conversation_id} in the history at {self.path}; it may have been deleted."
        )


class AsyncHistory:
    """The same operations as `HistoryStore`, each run in a worker thread so the event loop never blocks."""

    def __init__(self, store: HistoryStore) -> None:
        self.store = store

    async def open(self) -> None:
        await asyncio.to_thread(self.store.open)

    async def close(self) -> None:
        await asyncio.to_thread(self.store.close)

    async def create_conversation(self, title: str = "", **profile: str | None) -> Conversation:
        return await asyncio.to_thread(self.store.create_conversation, title, **profile)

    async def get_conversation(self, conversation_id: int) -> Conversation | None:
        return await asyncio.to_thread(self.store.get_conversation, conversation_id)

    async def list_conversations(self, limit: int = 100, offset: int = 0) -> list[Conversation]:
        return await asyncio.to_thread(self.store.list_conversations, limit, offset)

    async def last_conversation(self) -> Conversation | None:
        return await asyncio.to_thread(self.store.last_conversation)

    async def rename(self, conversation_id: int, title: str) -> Conversation:
        return await asyncio.to_thread(self.store.rename, conversation_id, title)

    async def set_profile(self, conversation_id: int, profile: str, provider: str, model: str) -> None:
        await asyncio.to_thread(self.store.set_profile, conversation_id, profile, provider, model)

    async def set_settings(self, conversation_id: int, settings: dict[str, Any]) -> None:
        await asyncio.to_thread(self.store.set_settings, conversation_id, settings)

    async def settings(self, conversation_id: int) -> dict[str, Any]:
        return await asyncio.to_thread(self.store.settings, conversation_id)

    async def delete(self, conversation_id: int) -> bool:
        return await asyncio.to_thread(self.store.delete, conversation_id)

    async def add_message(self, conversation_id: int, role: MessageRole, content: str, **fields: Any) -> Message:
        return await asyncio.to_thread(self.store.add_message, conversation_id, role, content, **fields)

    async def start_answer(
        self, conversation_id: int, *, profile: str | None, provider: str | None, model: str | None,
        parent_id: ParentId = AFTER_CURRENT,
    ) -> Message:
        return await asyncio.to_thread(
            self.store.start_answer, conversation_id, profile=profile, provider=provider, model=model,
            parent_id=parent_id,
        )

    async def checkpoint(self, message_id: int, content: str, thinking: str | None = None) -> None:
        await asyncio.to_thread(self.store.checkpoint, message_id, content, thinking)

    async def finish_answer(self, message_id: int, content: str, **fields: Any) -> Message:
        return await asyncio.to_thread(self.store.finish_answer, message_id, content, **fields)

    async def get_message(self, message_id: int) -> Message | None:
        return await asyncio.to_thread(self.store.get_message, message_id)

    async def messages_latest(self, conversation_id: int, limit: int = 50) -> Page:
        return await asyncio.to_thread(self.store.messages_latest, conversation_id, limit)

    async def messages_before(self, conversation_id: int, before_id: int, limit: int = 50) -> Page:
        return await asyncio.to_thread(self.store.messages_before, conversation_id, before_id, limit)

    async def messages(self, conversation_id: int) -> list[Message]:
        return await asyncio.to_thread(self.store.messages, conversation_id)

    async def branch(self, conversation_id: int) -> list[Message]:
        return await asyncio.to_thread(self.store.branch, conversation_id)

    async def branch_tail(self, conversation_id: int, limit: int) -> tuple[list[Message], int]:
        return await asyncio.to_thread(self.store.branch_tail, conversation_id, limit)

    async def children(self, conversation_id: int) -> dict[int | None, list[int]]:
        return await asyncio.to_thread(self.store.children, conversation_id)

    async def select(self, conversation_id: int, message_id: int) -> list[Message]:
        return await asyncio.to_thread(self.store.select, conversation_id, message_id)

    async def select_tail(self, conversation_id: int, message_id: int, limit: int) -> tuple[list[Message], int]:
        return await asyncio.to_thread(self.store.select_tail, conversation_id, message_id, limit)

    async def resume_answer(self, message_id: int) -> Message:
        return await asyncio.to_thread(self.store.resume_answer, message_id)

    async def search(
        self, query: str, *, limit: int = 50, conversation_id: int | None = None
    ) -> list[SearchHit]:
        return await asyncio.to_thread(self.store.search, query, limit=limit, conversation_id=conversation_id)

    async def export_json(self, conversation_id: int) -> str:
        return await asyncio.to_thread(self.store.export_json, conversation_id)

    async def export_markdown(self, conversation_id: int) -> str:
        return await asyncio.to_thread(self.store.export_markdown, conversation_id)


# ---------------------------------------------------------------------------------------------------------
# Helpers


@contextmanager
def _transaction(conn: "sqlite3.Connection") -> Iterator[None]:
    # IMMEDIATE takes the write lock up front, so two processes never deadlock upgrading a read to a write.
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _has_fts5(conn: "sqlite3.Connection") -> bool:
    import sqlite3

    try:
        conn.execute("CREATE VIRTUAL TABLE temp._tui_fts5_probe USING fts5(x)")
        conn.execute("DROP TABLE temp._tui_fts5_probe")
        return True
    except sqlite3.OperationalError:
        return False


def _host() -> str:
    global _HOST
    if not _HOST:
        import socket

        _HOST = socket.gethostname()
    return _HOST


def _writer_alive(writer: str | None) -> bool:
    """Whether the process that owns a streaming row is still running (and so may still finish it)."""
    if not writer:
        return False
    host, _, rest = writer.partition(":")
    pid_text, _, _token = rest.partition(":")
    if host != _host() or not pid_text.isdigit():
        return False  # another machine cannot be asked; SQLite's WAL does not work across machines anyway
    pid = int(pid_text)
    if pid == os.getpid():
        return writer in _LIVE_WRITERS
    if sys.platform == "win32":
        return False  # os.kill(pid, 0) would send CTRL_C there; treat foreign rows as left over
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, owned by someone else
    except OSError:
        return False
    return True


@dataclass(frozen=True)
class SetAside:
    """A damaged history database, moved aside unchanged so that a new one could take its place."""

    original: Path
    moved_to: Path
    reason: str

    def sentence(self) -> str:
        return (
            f"The history database {self.original} was damaged ({self.reason}); it was kept unchanged as "
            f"{self.moved_to.name} beside it, and a new history was started: new conversations are saved, "
            "older ones are in the kept file."
        )


_DAMAGE_CODES = {"SQLITE_CORRUPT", "SQLITE_NOTADB"}


def _is_damage(err: Exception) -> bool:
    """A file that is not, or no longer, a readable SQLite database (not a busy or locked one)."""
    return getattr(err, "sqlite_errorname", None) in _DAMAGE_CODES


def check_database(path: Path) -> str | None:
    """A sentence when the history database at `path` is damaged (read-only: nothing is moved or changed)."""
    import sqlite3

    if not path.exists():
        return None
    # Without a -wal file no process has it open in WAL mode: read it as immutable, which creates no -wal/-shm.
    in_use = path.with_name(path.name + "-wal").exists()
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro{'' if in_use else '&immutable=1'}", uri=True)
        try:
            result = conn.execute("PRAGMA quick_check(1)").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as err:
        if _is_damage(err):
            return f"the history database {path} is damaged ({err}); tui-agent will keep it aside and start a new one"
        return None  # busy, locked or unreadable right now: not damage
    if result and result[0] != "ok":
        return f"the history database {path} is damaged ({result[0]}); tui-agent will keep it aside and start a new one"
    return None


def _hint(err: Exception, otherwise: str) -> str:
    """What the person can do about a SQLite error."""
    if "locked" in str(err) or "busy" in str(err):
        return "another tui-agent is using it; try again in a moment"
    return otherwise


def _check(value: str, allowed: tuple[str, ...], what: str) -> None:
    if value not in allowed:
        raise ValueError(f"Unknown message {what} {value!r}; expected one of: {', '.join(allowed)}.")


def _contains(haystack: str | None, needle: str) -> bool:
    return haystack is not None and needle.casefold() in haystack.casefold()


def _parse_marks(marked: str) -> tuple[str, tuple[tuple[int, int], ...]]:
    text: list[str] = []
    spans: list[tuple[int, int]] = []
    length, start = 0, 0
    for piece in re.split(f"([{_MARK_OPEN}{_MARK_CLOSE}])", marked):
        if piece == _MARK_OPEN:
            start = length
        elif piece == _MARK_CLOSE:
            spans.append((start, length))
        else:
            text.append(piece)
            length += len(piece)
    return "".join(text), tuple(spans)


def _substring_snippet(content: str, words: list[str], width: int = 120) -> tuple[str, tuple[tuple[int, int], ...]]:
    folded = content.casefold()
    first = min((i for i in (folded.find(w.casefold()) for w in words) if i >= 0), default=0)
    begin = max(0, first - width // 3)
    end = min(len(content), begin + width)
    prefix, suffix = ("…" if begin else ""), ("…" if end < len(content) else "")
    piece = content[begin:end].replace("\n", " ")
    snippet = prefix + piece + suffix
    spans: list[tuple[int, int]] = []
    folded_piece = piece.casefold()
    for word in words:
        needle = word.casefold()
        at = folded_piece.find(needle)
        while at >= 0 and needle:
            spans.append((len(prefix) + at, len(prefix) + at + len(needle)))
            at = folded_piece.find(needle, at + len(needle))
    return snippet, tuple(sorted(spans))


def _title_from(content: str) -> str:
    line = next((line.strip() for line in content.splitlines() if line.strip()), "")
    return line if len(line) <= _TITLE_MAX else line[: _TITLE_MAX - 1].rstrip() + "…"


def _human(when: datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M UTC")


def _author(message: Message) -> str:
    if message.role == "user":
        return "You"
    if message.role == "system":
        return "System"
    if not message.profile:
        return "Assistant"
    detail = " · ".join(part for part in (message.provider, message.model) if part)
    return f"{message.profile} ({detail})" if detail else message.profile


def _status_note(message: Message) -> str:
    if message.status == "stopped":
        return "Stopped by the user; the answer above is what had arrived."
    if message.status == "interrupted":
        return "Interrupted (the app ended while this answer was streaming); the answer above is what had arrived."
    if message.status == "streaming":
        return "Still streaming when exported."
    if message.status == "error":
        return f"Error: {message.error}" if message.error else "The answer failed."
    if message.stop_reason in LENGTH_STOP_REASONS:
        return "Cut at the output token limit."
    return ""


# Where /continue appended text to an answer: shown on screen and written by the Markdown export.
CONTINUE_MARK = " ⟨continued⟩ "
# Stop reasons meaning "the answer hit the output limit" (Anthropic, OpenAI-compatible and Ollama spellings).
LENGTH_STOP_REASONS = frozenset({"max_tokens", "length", "max_output_tokens"})


def with_continue_marks(message: Message) -> str:
    """The answer's text with CONTINUE_MARK at every point where /continue appended to it."""
    text, pieces, start = message.content, [], 0
    for at in message.continued_at:
        if start <= at <= len(text):
            pieces += [text[start:at], CONTINUE_MARK.strip() if not text[start:at] else CONTINUE_MARK]
            start = at
    return "".join(pieces) + text[start:]
