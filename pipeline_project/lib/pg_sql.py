"""The few dialect differences between the warehouse's DuckDB SQL and PostgreSQL, translated.

Domain code writes one SQL (DuckDB's, the default backend); on Postgres each statement goes through
`translate` first. Only what the project's SQL uses is covered, each rule tested
(pipeline_project_tests/lib/test_pg_sql.py); anything else is left as written, so SQL both engines
understand needs no rule:

- `?` parameters become `%s` (and a literal `%` becomes `%%`, since psycopg then formats the string);
- `x IN (SELECT unnest(?))` (a list parameter) becomes `x = ANY(?)`, `NOT IN` becomes `<> ALL(?)`;
- `INSERT OR IGNORE INTO ...` becomes `INSERT INTO ... ON CONFLICT DO NOTHING`;
- `INSERT OR REPLACE INTO t ...` becomes an upsert on t's primary key (`conflict_keys` supplies it);
- `any_value(` becomes `min(` (PostgreSQL 15 has no any_value; every use picks one of equal values);
- the type `DOUBLE` becomes `DOUBLE PRECISION`;
- `json_extract_string(col, '$.key')` / `json_extract(col, '$.key')` become `col::jsonb ->> / -> 'key'`;
- in DDL, a `FLOAT[]` column is an embedding and becomes pgvector's `vector`;
- `$name` parameters (a mapping) become `%(name)s`;
- `\p{L}` / `\p{N}` in regular expressions become `[:alpha:]` / `[:digit:]` (PostgreSQL's classes are
  Unicode-aware in a UTF-8 database);
- a subquery in FROM without a name gets one.

DuckDB functions PostgreSQL lacks are created as SQL functions instead (`pg.COMPAT_FUNCTIONS`):
`regexp_extract_all(text, pattern)`, `list_inner_product(vector, float8[])`.
"""

from __future__ import annotations

import re
from typing import Callable

_UNNEST = re.compile(r"(\bNOT\s+)?\bIN\s*\(\s*SELECT\s+unnest\s*\(\s*\?\s*\)\s*\)", re.IGNORECASE)
_INSERT_OR = re.compile(r"^\s*INSERT\s+OR\s+(IGNORE|REPLACE)\s+INTO\s+([A-Za-z_][\w.]*)\s*(\(([^)]*)\))?",
                        re.IGNORECASE)
_ANY_VALUE = re.compile(r"\bany_value\s*\(", re.IGNORECASE)
_FLOAT_LIST = re.compile(r"\bFLOAT\s*\[\s*\]", re.IGNORECASE)
_JSON_FIELD = re.compile(r"\bjson_extract(_string)?\s*\(\s*([A-Za-z_][\w.]*)\s*,\s*'\$\.(\w+)'\s*\)", re.IGNORECASE)
_DOUBLE = re.compile(r"\bDOUBLE\b(?!\s+PRECISION)", re.IGNORECASE)
_NAMED = re.compile(r"(?<![\w$])\$([A-Za-z_]\w*)")
_UNICODE_CLASSES = (("\\p{L}", "[:alpha:]"), ("\\p{N}", "[:digit:]"))
_SUBQUERY = re.compile(r"\bFROM\s*\(\s*SELECT\b", re.IGNORECASE)
_NOT_ALIAS = {"where", "group", "order", "limit", "union", "except", "intersect", "join", "left", "right",
              "inner", "full", "cross", "on", "using", "having", "window", "offset", "natural"}
_DDL = re.compile(r"^\s*(CREATE|ALTER|DROP)\b", re.IGNORECASE)
_SELECT_COLS = re.compile(r"\bSELECT\s+(.*?)\s+FROM\b", re.IGNORECASE | re.DOTALL)


def is_ddl(sql: str) -> bool:
    return bool(_DDL.match(sql))


def _segments(sql: str) -> list[tuple[str, str]]:
    """sql split into ("code" | "literal" | "ident" | "comment", text) pieces."""
    out, i, start = [], 0, 0
    while i < len(sql):
        ch = sql[i]
        if ch in "'\"" or sql.startswith("--", i):
            if i > start:
                out.append(("code", sql[start:i]))
            if ch in "'\"":
                end = i + 1
                while end < len(sql) and not (sql[end] == ch and sql[end + 1:end + 2] != ch):
                    end += 2 if sql[end] == ch else 1  # '' inside a literal
                out.append(("literal" if ch == "'" else "ident", sql[i:end + 1]))
                i = start = end + 1
            else:
                end = sql.find("\n", i)
                end = len(sql) if end < 0 else end
                out.append(("comment", sql[i:end]))
                i = start = end
        else:
            i += 1
    if start < len(sql):
        out.append(("code", sql[start:]))
    return out


def _insert_or(sql: str, conflict_keys: Callable[[str], list[str]] | None) -> str:
    match = _INSERT_OR.match(sql)
    if not match:
        return sql
    verb, table, columns = match.group(1).upper(), match.group(2), match.group(4)
    head = f"INSERT INTO {table}" + (f" ({columns})" if columns else "")
    body = " " + sql[match.end():].strip().rstrip(";")
    if verb == "IGNORE":
        return f"{head}{body} ON CONFLICT DO NOTHING"
    keys = conflict_keys(table) if conflict_keys else []
    if not keys:
        raise ValueError(f"INSERT OR REPLACE INTO {table}: the table has no primary key")
    names = [c.strip() for c in columns.split(",")] if columns else _selected_columns(body)
    updates = ", ".join(f"{c} = excluded.{c}" for c in names if c not in keys)
    action = f"DO UPDATE SET {updates}" if updates else "DO NOTHING"
    return f"{head}{body} ON CONFLICT ({', '.join(keys)}) {action}"


def _selected_columns(body: str) -> list[str]:
    match = _SELECT_COLS.search(body)
    if not match or "*" in match.group(1):
        raise ValueError("INSERT OR REPLACE without a column list needs named SELECT columns on Postgres")
    return [c.strip().split()[-1].split(".")[-1] for c in match.group(1).split(",")]


def translate(sql: str, *, with_params: bool, conflict_keys: Callable[[str], list[str]] | None = None,
              named: bool = False) -> str:
    """DuckDB SQL → PostgreSQL. `with_params`: psycopg will format the string (so `%` is doubled);
    `named`: the parameters are a mapping, written `$name` (DuckDB) → `%(name)s`."""
    ddl = is_ddl(sql)
    sql = _JSON_FIELD.sub(lambda m: f"({m.group(2)}::jsonb {'->>' if m.group(1) else '->'} '{m.group(3)}')", sql)
    pieces = []
    for kind, text in _segments(sql):
        if kind == "comment":
            continue  # a '?' or '%' in a comment would be taken for a parameter
        if kind == "code":
            text = _UNNEST.sub(lambda m: "<> ALL(?)" if m.group(1) else "= ANY(?)", text)
            text = _ANY_VALUE.sub("min(", text)
            text = _DOUBLE.sub("DOUBLE PRECISION", text)
            if ddl:
                text = _FLOAT_LIST.sub("vector", text)
            if with_params:
                text = text.replace("%", "%%").replace("?", "%s")
                if named:
                    text = _NAMED.sub(r"%(\1)s", text)
        elif kind == "literal":
            for duck, posix in _UNICODE_CLASSES:
                text = text.replace(duck, posix)
            if with_params:
                text = text.replace("%", "%%")
        pieces.append(text)
    return _insert_or(_alias_subqueries("".join(pieces)), conflict_keys)


def _alias_subqueries(sql: str) -> str:
    """`FROM (SELECT ...)` without a name gets one: PostgreSQL before 16 requires it."""
    out, pos = [], 0
    for match in _SUBQUERY.finditer(sql):
        if match.start() < pos:
            continue
        close = _matching_paren(sql, sql.index("(", match.start()))
        if close < 0:
            break
        follows = re.match(r"\s*(\w+)", sql[close + 1:])
        out.append(sql[pos:close + 1])
        if not follows or follows.group(1).lower() in _NOT_ALIAS:
            out.append(f" AS subquery_{len(out)}")
        pos = close + 1
    out.append(sql[pos:])
    return "".join(out)


def _matching_paren(sql: str, start: int) -> int:
    depth, i = 0, start
    while i < len(sql):
        ch = sql[i]
        if ch == "'":
            i = sql.index("'", i + 1) if "'" in sql[i + 1:] else len(sql)
            while sql[i + 1:i + 2] == "'":  # '' inside a literal
                i = sql.index("'", i + 2)
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1
