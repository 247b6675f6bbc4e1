"""The DuckDB → PostgreSQL translation of the warehouse's SQL (no server needed)."""

import pytest

from pipeline_project.lib.pg_sql import translate


def pg(sql: str, params: bool = True, keys=None) -> str:
    return " ".join(translate(sql, with_params=params, conflict_keys=keys).split())


def test_parameters_become_psycopg_placeholders_outside_literals_and_comments():
    assert pg("SELECT 'a?b', x FROM t WHERE y = ? AND z LIKE 'p%' -- why? 100%\n AND w = ?") == \
        "SELECT 'a?b', x FROM t WHERE y = %s AND z LIKE 'p%%' AND w = %s"
    assert pg("SELECT 'it''s ?' FROM t WHERE a = ?") == "SELECT 'it''s ?' FROM t WHERE a = %s"
    assert pg("SELECT 'p%' FROM t", params=False) == "SELECT 'p%' FROM t"  # not formatted: left alone


def test_list_parameters_become_any_and_all():
    assert pg("DELETE FROM t WHERE id IN (SELECT unnest(?)) AND b NOT IN (SELECT unnest( ? ))") == \
        "DELETE FROM t WHERE id = ANY(%s) AND b <> ALL(%s)"


def test_insert_or_ignore_and_replace_become_on_conflict():
    assert pg("INSERT OR IGNORE INTO t (a, b) SELECT a, b FROM incoming", params=False) == \
        "INSERT INTO t (a, b) SELECT a, b FROM incoming ON CONFLICT DO NOTHING"
    assert pg("INSERT OR IGNORE INTO embeddings SELECT * FROM new_vectors", params=False) == \
        "INSERT INTO embeddings SELECT * FROM new_vectors ON CONFLICT DO NOTHING"
    assert pg("INSERT OR REPLACE INTO t (k, a, b) SELECT k, a, b FROM incoming", params=False,
              keys=lambda table: ["k"]) == \
        "INSERT INTO t (k, a, b) SELECT k, a, b FROM incoming ON CONFLICT (k) DO UPDATE SET a = excluded.a, b = excluded.b"
    with pytest.raises(ValueError, match="no primary key"):
        pg("INSERT OR REPLACE INTO t (a) VALUES (?)", keys=lambda table: [])


def test_types():
    assert pg("CREATE TABLE t (score DOUBLE, s DOUBLE PRECISION)", params=False) == \
        "CREATE TABLE t (score DOUBLE PRECISION, s DOUBLE PRECISION)"
    assert pg("SELECT x::DOUBLE FROM t WHERE d = ?") == "SELECT x::DOUBLE PRECISION FROM t WHERE d = %s"


def test_json_fields():
    assert pg("SELECT json_extract_string(detail, '$.retry_at'), CAST(json_extract(d.detail, '$.bytes') AS BIGINT) "
              "FROM t WHERE a = ?") == \
        "SELECT (detail::jsonb ->> 'retry_at'), CAST((d.detail::jsonb -> 'bytes') AS BIGINT) FROM t WHERE a = %s"


def test_any_value_and_embedding_columns():
    assert pg("SELECT doc_id, any_value(source_file) FROM d GROUP BY doc_id", params=False) == \
        "SELECT doc_id, min(source_file) FROM d GROUP BY doc_id"
    assert pg("CREATE TABLE IF NOT EXISTS e (embedding FLOAT[] NOT NULL)", params=False) == \
        "CREATE TABLE IF NOT EXISTS e (embedding vector NOT NULL)"
    assert pg("SELECT CAST(x AS FLOAT[]) FROM t", params=False) == "SELECT CAST(x AS FLOAT[]) FROM t"  # not DDL



def test_named_parameters_regex_classes_and_unnamed_subqueries():
    sql = ("SELECT x FROM (SELECT unnest(regexp_extract_all(lower(t), '[\\p{L}\\p{N}]+')) AS x "
           "FROM c WHERE b = $batch) GROUP BY x LIMIT $limit")
    assert " ".join(translate(sql, with_params=True, named=True).split()) == (
        "SELECT x FROM (SELECT unnest(regexp_extract_all(lower(t), '[[:alpha:][:digit:]]+')) AS x "
        "FROM c WHERE b = %(batch)s) AS subquery_1 GROUP BY x LIMIT %(limit)s")
    named = "SELECT * FROM (SELECT 1 AS a) r JOIN (SELECT 2 AS b) AS s ON true"
    assert translate(named, with_params=False) == named  # subqueries with a name are left alone
