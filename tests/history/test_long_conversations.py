"""A 2,000-message (~2 MB) conversation opens by its last page, and older pages load on demand.

Work is measured by what SQLite does (statements run, rows returned, virtual-machine steps), never by time.
"""

from __future__ import annotations

import pytest

from tui_agent.service.history import HistoryStore

BIG = 2000
SMALL = 60
PAGE = 50


@pytest.fixture(scope="module")
def big_store(tmp_path_factory):
    store = HistoryStore(tmp_path_factory.mktemp("long") / "history.db")
    big = store.create_conversation("Long one")
    # Building the fixture through the real API, without an fsync per message: durability is not what
    # these tests measure, and 2,060 fsyncs on a busy machine take seconds.
    store._conn.execute("PRAGMA synchronous = OFF")
    for n in range(BIG):
        role = "user" if n % 2 == 0 else "assistant"
        profile = None if role == "user" else ("claude", "claude-code", "sonnet")[n % 3]
        body = f"message {n} " + f"line {n} of a long conversation about tides and moons. " * 18
        store.add_message(big.id, role, body, profile=profile)
    small = store.create_conversation("Short one")
    for n in range(SMALL):
        store.add_message(small.id, "user" if n % 2 == 0 else "assistant", f"short {n} " + "x" * 1000)
    store._conn.execute("PRAGMA synchronous = FULL")
    yield store, big.id, small.id
    store.close()


class _Meter:
    """Counts the statements a call runs and the SQLite virtual-machine steps they take."""

    def __init__(self, store: HistoryStore):
        self.conn = store._conn
        self.statements: list[str] = []
        self.steps = 0

    def _step(self) -> int:
        self.steps += 1
        return 0

    def __enter__(self):
        self.conn.set_trace_callback(self.statements.append)
        self.conn.set_progress_handler(self._step, 1)
        return self

    def __exit__(self, *exc):
        self.conn.set_trace_callback(None)
        self.conn.set_progress_handler(None, 1)


def test_the_conversation_is_about_two_megabytes(big_store):
    store, big, _ = big_store
    total = store._conn.execute(
        "SELECT SUM(LENGTH(content)), COUNT(*) FROM messages WHERE conversation_id = ?", (big,)
    ).fetchone()
    assert total[1] == BIG
    assert 1_800_000 <= total[0] <= 2_400_000


def test_latest_page_returns_only_the_newest_messages_in_order(big_store):
    store, big, _ = big_store
    with _Meter(store) as meter:
        page = store.messages_latest(big, limit=PAGE)
    assert len(page.messages) == PAGE
    assert page.has_older
    assert [m.content.split()[1] for m in page.messages] == [str(n) for n in range(BIG - PAGE, BIG)]
    assert len(meter.statements) == 1


def test_latest_page_costs_the_same_in_a_huge_conversation_as_in_a_short_one(big_store):
    store, big, small = big_store
    with _Meter(store) as big_page:
        store.messages_latest(big, limit=PAGE)
    with _Meter(store) as small_page:
        store.messages_latest(small, limit=PAGE)
    with _Meter(store) as everything:
        store.messages(big)
    # The meter does see work proportional to rows: loading everything costs far more than a page.
    assert everything.steps > 20 * big_page.steps
    assert big_page.steps <= small_page.steps * 1.2


def test_page_queries_use_the_conversation_index_not_a_table_scan(big_store):
    store, big, _ = big_store
    with _Meter(store) as meter:
        store.messages_before(big, 1000, limit=PAGE)
    [query] = meter.statements
    plan = " ".join(row[3] for row in store._conn.execute("EXPLAIN QUERY PLAN " + query))
    assert any(f"USING {how}" in plan for how in ("INDEX messages_by_conversation", "INDEX messages_tree", "INTEGER PRIMARY KEY"))
    assert "SCAN" not in plan


def test_the_branch_tail_walks_the_parents_in_an_index_not_the_rows(big_store):
    store, big, _ = big_store
    with _Meter(store) as meter:
        tail, older = store.branch_tail(big, 10)
    assert len(tail) == 10 and older == BIG - 10
    plans = [" ".join(row[3] for row in store._conn.execute("EXPLAIN QUERY PLAN " + q)) for q in meter.statements
             if q.startswith("SELECT id, parent_id")]
    assert plans and all("COVERING INDEX messages_tree" in plan for plan in plans)


def test_scrolling_back_fills_every_older_message_once_in_order(big_store):
    store, big, _ = big_store
    page = store.messages_latest(big, limit=PAGE)
    seen = [m.id for m in page.messages]
    pages = 1
    while page.has_older:
        page = store.messages_before(big, page.oldest_id, limit=PAGE)
        assert 0 < len(page.messages) <= PAGE
        seen = [m.id for m in page.messages] + seen
        pages += 1
    assert pages == BIG // PAGE
    assert seen == [m.id for m in store.messages(big)]
    assert len(set(seen)) == BIG


def test_an_older_page_from_the_middle_costs_no_more_than_the_latest(big_store):
    store, big, _ = big_store
    middle = store.messages_latest(big, limit=BIG // 2).oldest_id
    with _Meter(store) as latest:
        store.messages_latest(big, limit=PAGE)
    with _Meter(store) as older:
        page = store.messages_before(big, middle, limit=PAGE)
    assert len(page.messages) == PAGE and page.messages[-1].id == middle - 1
    assert older.steps <= latest.steps * 1.2


def test_short_conversation_has_no_older_page(big_store):
    store, _, small = big_store
    page = store.messages_latest(small, limit=SMALL)
    assert len(page.messages) == SMALL and not page.has_older
    assert store.messages_before(small, page.oldest_id).messages == []


def test_a_read_branch_shares_the_strings_its_messages_repeat_and_sqlite_keeps_a_small_cache(big_store):
    from tui_agent.service.history import PAGE_CACHE_KIB

    store, big_id, _ = big_store
    branch = store.branch(big_id)
    answers = [m for m in branch if m.role == "assistant"]
    # Thousands of messages held at once (a reopened branch): one copy of each role, status, profile, …
    assert len({id(m.role) for m in branch}) == 2
    assert len({id(m.status) for m in branch}) == 1
    assert len({id(m.profile) for m in answers}) == 3
    assert all(m.updated_at is m.created_at for m in branch)  # never edited: one datetime for both
    # …and the pages SQLite read for it are not all kept beside them.
    assert store._connection().execute("PRAGMA cache_size").fetchone()[0] == -PAGE_CACHE_KIB
