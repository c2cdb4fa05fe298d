"""The retention sweep finds expired calls through an index, never by scanning every call."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from callvault.store import retention
from callvault.store.engine import make_engine
from callvault.store.migrate import upgrade


def _plan(engine, query) -> str:
    compiled = query.compile(engine, compile_kwargs={"literal_binds": True})
    with engine.connect() as conn:
        rows = conn.execute(text(f"EXPLAIN QUERY PLAN {compiled}")).all()
    return "\n".join(str(r[-1]) for r in rows)


def test_the_sweep_page_is_an_index_range_in_start_time_order(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine)
    cutoff = datetime(2026, 1, 1, tzinfo=UTC)
    for after in (None, (datetime(2025, 1, 1, tzinfo=UTC), "c" * 32)):
        plan = _plan(engine, retention.expired_page_query("Inbound", cutoff, after, 1000))
        assert "USING INDEX ix_calls_direction_start_time_call_id" in plan, plan
        assert "SCAN calls" not in plan, plan
        assert "TEMP B-TREE" not in plan, plan  # ordered by the index: no sort of the range
    engine.dispose()


def test_counting_expired_calls_uses_the_index(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine)
    cutoff = datetime(2026, 1, 1, tzinfo=UTC)
    plan = _plan(engine, retention.count_query(["Inbound", "Outbound"], None, cutoff, None))
    assert "ix_calls_direction_start_time_call_id" in plan, plan
    assert "SCAN calls" not in plan, plan
    engine.dispose()


def test_0012_adds_the_policies_table_and_the_index(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine, "0011")
    with engine.connect() as conn:
        assert not conn.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE name = 'retention_policies'"
        ).all()
    upgrade(engine)
    with engine.connect() as conn:
        names = {
            r[0]
            for r in conn.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'index')"
            )
        }
    assert {"retention_policies", "ix_calls_direction_start_time_call_id"} <= names
    engine.dispose()


def _pg_plan(engine, query) -> str:
    """PostgreSQL's plan with sequential scans priced out: on a near-empty test table the
    planner would rightly scan, so this asks whether an index path exists for the query."""
    compiled = query.compile(engine, compile_kwargs={"literal_binds": True})
    with engine.connect() as conn:
        conn.exec_driver_sql("SET enable_seqscan = off")
        rows = conn.execute(text(f"EXPLAIN {compiled}")).all()
    return "\n".join(str(r[0]) for r in rows)


def test_on_postgresql_the_sweep_and_its_counts_use_the_index(scale_out, tmp_path):
    engine = make_engine(scale_out.settings(tmp_path / "data").database_url)
    cutoff = datetime(2026, 1, 1, tzinfo=UTC)
    for after in (None, (datetime(2025, 1, 1, tzinfo=UTC), "c" * 32)):
        plan = _pg_plan(engine, retention.expired_page_query("Inbound", cutoff, after, 1000))
        assert "ix_calls_direction_start_time_call_id" in plan, plan
        assert "Seq Scan" not in plan, plan
        assert "Sort" not in plan, plan  # ordered by the index: no sort of the range
    plan = _pg_plan(engine, retention.count_query(["Inbound", "Outbound"], None, cutoff, None))
    assert "ix_calls_direction_start_time_call_id" in plan, plan
    assert "Seq Scan" not in plan, plan
    engine.dispose()
