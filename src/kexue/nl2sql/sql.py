"""SQL text for a TableQA query, and its execution on sqlite for the execution-accuracy half of the score.

Columns are col_1..col_n (TableQA's db normalises header names away). Numbers compare as numbers:
a real-typed column, or any column under > and <, is CAST to REAL when the value is a plain number, so
'2000' > '300' is not decided by the first character whether the db stores the column as REAL or TEXT.
"""
from __future__ import annotations

import math
import re
import sqlite3
from pathlib import Path

from ..core.io import atomic_path
from .data import AGGS, OPS, NL2SQLDataError, check_sql

_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_text(value: str) -> str:
    # single quotes: in sqlite a double-quoted string naming a column (a value "col_1") would be the column
    return "'" + value.replace("'", "''") + "'"


def as_number(value) -> float | None:
    """The value as a finite float when it is a plain decimal number (' 42795' is; 'inf', '1_000', '5%' are not)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value) if math.isfinite(value) else None
    s = str(value).strip()
    return float(s) if _NUMBER.fullmatch(s) and math.isfinite(float(s)) else None


def _literal(x: float) -> str:
    return str(int(x)) if x.is_integer() and abs(x) < 1e15 else repr(x)


def render(sql: dict, table: dict) -> str:
    """sqlite text of `sql` on `table`, e.g.
    SELECT AVG(col_2), col_5 FROM "Table_x" WHERE col_1 == '长沙' AND CAST(col_3 AS REAL) > 3.17.
    Raises ValueError (data.SQLFieldError) for a malformed sql or a column outside the table."""
    sql = check_sql(sql, len(table["header"]))
    types = table["types"]
    sel = ", ".join(f"{AGGS[a]}(col_{c + 1})" if a else f"col_{c + 1}" for c, a in zip(sql["sel"], sql["agg"]))
    where = []
    for c, op, value in sql["conds"]:
        num = as_number(value)
        if num is not None and (types[c] == "real" or op in (0, 1)):
            where.append(f"CAST(col_{c + 1} AS REAL) {OPS[op]} {_literal(num)}")
        else:
            where.append(f"col_{c + 1} {OPS[op]} {quote_text(value)}")
    text = f"SELECT {sel} FROM {quote_ident(table['name'])}"
    if where:
        text += " WHERE " + (" OR " if sql["cond_conn_op"] == 2 else " AND ").join(where)
    return text


def _cell(x):
    # results of the db and of the in-memory copy must compare equal: 5.0 == 5, AVG's last bits ignored
    if isinstance(x, float):
        if not math.isfinite(x):
            return repr(x)
        return int(x) if x.is_integer() and abs(x) < 1e15 else round(x, 6)
    if isinstance(x, bytes):
        return x.decode("utf-8", "replace")
    return x


def _row_key(row):
    # a column may mix NULL, numbers and text: order by type name first so sorting never compares across types
    return [("", 0) if x is None else (type(x).__name__, x) for x in row]


def normalise_result(rows) -> tuple:
    """Hashable and order-insensitive: a sorted tuple of row tuples."""
    return tuple(sorted((tuple(_cell(x) for x in r) for r in rows), key=_row_key))


def create_table(conn: sqlite3.Connection, table: dict) -> None:
    """The table as TableQA's .db holds it: named by `name`, columns col_1.. (REAL for real-typed ones, so
    numeric strings among the rows become numbers), filled with `rows`."""
    cols = ", ".join(f"col_{i + 1} {'REAL' if ty == 'real' else 'TEXT'}" for i, ty in enumerate(table["types"]))
    name = quote_ident(table["name"])
    conn.execute(f"CREATE TABLE {name} ({cols})")
    conn.executemany(f"INSERT INTO {name} VALUES ({', '.join('?' * len(table['types']))})", table["rows"])


def write_db(path, tables: dict) -> None:
    """A TableQA-style sqlite file of `tables`, written atomically."""
    with atomic_path(path) as tmp:
        tmp.unlink(missing_ok=True)             # mkstemp made an empty file; sqlite wants a new database
        conn = sqlite3.connect(tmp)
        try:
            for t in tables.values():
                create_table(conn, t)
            conn.commit()
        finally:
            conn.close()


class Executor:
    """Runs TableQA SQL on a split's tables: on the competition's `.db` when there is one (read-only),
    else on an in-memory sqlite built, table by table on first use, from the tables' `rows`."""

    def __init__(self, tables: dict, db_path=None):
        self.tables = tables
        self.db_path = Path(db_path) if db_path else None
        if self.db_path is not None and not self.db_path.is_file():
            raise NL2SQLDataError(f"{self.db_path}: sqlite database not found (pass db_path=None to execute on "
                                  f"the tables' rows instead)")
        self._db = self._db_names = None
        self._mem = None
        self._loaded: set[str] = set()

    def _open_db(self):
        if self._db is None:
            try:
                uri = self.db_path.resolve().as_uri() + "?mode=ro"
                self._db = sqlite3.connect(uri, uri=True, check_same_thread=False)
                self._db_names = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            except sqlite3.Error as e:
                self._db = None
                raise NL2SQLDataError(f"{self.db_path}: cannot be read as a sqlite database: {e}") from None
        return self._db

    def _in_db(self, table: dict) -> bool:
        if self.db_path is None:
            return False
        self._open_db()
        return table["name"] in self._db_names

    def can_execute(self, table_id: str) -> bool:
        t = self.tables.get(table_id)
        return bool(t and (t.get("rows") or self._in_db(t)))

    def _memory(self, table: dict) -> sqlite3.Connection:
        if self._mem is None:
            self._mem = sqlite3.connect(":memory:", check_same_thread=False)
        if table["name"] not in self._loaded:
            create_table(self._mem, table)
            self._loaded.add(table["name"])
        return self._mem

    def connection(self, table_id: str) -> sqlite3.Connection | None:
        t = self.tables.get(table_id)
        if t is None:
            return None
        if self._in_db(t):
            return self._db
        return self._memory(t) if t.get("rows") else None

    def execute(self, sql: dict, table_id: str) -> tuple | None:
        """The query's result (see normalise_result), or None when it cannot run: unknown or row-less
        table, malformed sql, column out of range, sqlite error. Never raises for a bad prediction."""
        try:
            conn = self.connection(table_id)
            if conn is None:
                return None
            return normalise_result(conn.execute(render(sql, self.tables[table_id])).fetchall())
        except (ValueError, TypeError, KeyError, IndexError, sqlite3.Error):
            return None

    def close(self) -> None:
        for c in (self._db, self._mem):
            if c is not None:
                c.close()
        self._db = self._mem = None
        self._loaded.clear()
