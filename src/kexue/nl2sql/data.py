"""Reading and validating TableQA files: questions (`*.json`), tables (`*.tables.json`), the split layout.

Every problem is reported as `NL2SQLDataError("FILE:LINE: ... field 'sql.conds[1][1]': ...")`, so a bad
line in a 40,000-line file is found without a debugger. What comes back is normalised: condition values
are always strings (the real files store them so), SQL keys come in one order.

load and column_values read a split of the files preprocess recorded in its manifest, for every stage.
"""
from __future__ import annotations

import json
import math
import re
from pathlib import Path

from ..core import io

AGGS = {0: "", 1: "AVG", 2: "MAX", 3: "MIN", 4: "COUNT", 5: "SUM"}
OPS = {0: ">", 1: "<", 2: "==", 3: "!="}
CONNS = {0: "", 1: "and", 2: "or"}
TYPES = ("text", "real")
SPLITS = ("train", "val", "test")


class NL2SQLDataError(ValueError):
    pass


class SQLFieldError(ValueError):
    """A problem inside one SQL object; `field` is its path ('agg[1]', 'conds[0][2]'), the caller adds file:line."""

    def __init__(self, field: str, message: str):
        super().__init__(f"field '{field}': {message}")
        self.field, self.message = field, message


def _codes(d: dict) -> str:
    return " ".join(f"{k}:{v or repr('')}" for k, v in d.items())


def value_str(value) -> str:
    """A condition value as the files store it: a string. Numbers get their shortest exact text
    (3.17 -> '3.17', 5.0 -> '5', 2011 -> '2011'), never '5.0' or '3.1700000000000004'."""
    if isinstance(value, str):
        return value
    if hasattr(value, "item") and not isinstance(value, (int, float, list, tuple, dict)):
        # numpy scalars; a float32 by its own shortest text ('3.17'), not as 3.1700000762939453
        value = float(str(value)) if isinstance(value.item(), float) else value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(json.dumps(value, ensure_ascii=False, default=repr))
    if isinstance(value, int):
        return str(int(value))
    value = float(value)
    if not math.isfinite(value):
        raise TypeError(f"the non-finite number {value}")
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def _int(x, field: str, codes: dict | None = None, what: str = "") -> int:
    if hasattr(x, "item") and not isinstance(x, (list, tuple, dict)):
        x = x.item()                            # numpy ints from a model's argmax are fine
    if isinstance(x, bool) or not isinstance(x, int):     # bool is an int to Python, never a valid code
        kind = f"an integer ({what}{', ' + _codes(codes) if codes else ''})" if what else "an integer"
        raise SQLFieldError(field, f"expected {kind}, got {json.dumps(x, default=repr, ensure_ascii=False)}")
    if codes is not None and x not in codes:
        raise SQLFieldError(field, f"{x} is not {what} ({_codes(codes)})")
    return x


def check_sql(sql, n_cols: int | None = None) -> dict:
    """Validate one SQL object and return it normalised: {sel, agg, cond_conn_op, conds} with int codes and
    string values. `n_cols` (the table's header length) enables column range checks. Raises SQLFieldError."""
    if not isinstance(sql, dict):
        raise SQLFieldError("sql", f"expected an object with sel, agg, cond_conn_op, conds; got {type(sql).__name__}")
    for key in ("sel", "agg", "cond_conn_op", "conds"):
        if key not in sql:
            raise SQLFieldError(key, "missing")
    # numpy arrays from a model's decoder are lists too
    sel, agg, conds = (v.tolist() if hasattr(v, "tolist") else v for v in (sql["sel"], sql["agg"], sql["conds"]))
    for key, v in (("sel", sel), ("agg", agg), ("conds", conds)):
        if not isinstance(v, (list, tuple)):
            raise SQLFieldError(key, f"expected a list, got {json.dumps(v, default=repr, ensure_ascii=False)}")
    if not sel:
        raise SQLFieldError("sel", "empty: a query selects at least one column")
    if len(sel) != len(agg):
        raise SQLFieldError("agg", f"{len(agg)} aggregations for {len(sel)} selected columns (sel {list(sel)}, "
                                   f"agg {list(agg)}); they pair up one to one")

    def col(x, field):
        c = _int(x, field, what="column index")
        if c < 0 or (n_cols is not None and c >= n_cols):
            raise SQLFieldError(field, f"column {c} is out of range: the table has {n_cols} columns "
                                       f"(0..{n_cols - 1})" if n_cols is not None else f"column {c} is negative")
        return c

    out_sel = [col(c, f"sel[{i}]") for i, c in enumerate(sel)]
    out_agg = [_int(a, f"agg[{i}]", AGGS, "an aggregation code") for i, a in enumerate(agg)]
    conn = _int(sql["cond_conn_op"], "cond_conn_op", CONNS, "a connector code")
    out_conds = []
    for i, cond in enumerate(conds):
        if not isinstance(cond, (list, tuple)) or len(cond) != 3:
            raise SQLFieldError(f"conds[{i}]", f"expected [column, op, value], got "
                                               f"{json.dumps(cond, default=repr, ensure_ascii=False)}")
        c = col(cond[0], f"conds[{i}][0]")
        op = _int(cond[1], f"conds[{i}][1]", OPS, "an operator code")
        try:
            v = value_str(cond[2])
        except TypeError as e:
            raise SQLFieldError(f"conds[{i}][2]", f"the value must be a string or a number, got {e}") from None
        out_conds.append([c, op, v])
    return {"sel": out_sel, "agg": out_agg, "cond_conn_op": conn, "conds": out_conds}


def iter_json_lines(path, error=NL2SQLDataError):
    """(line number, object) for each non-blank line; malformed JSON or a non-object raises `error`.
    Splits on '\\n' only: str.splitlines would also split inside strings holding U+2028 and the like."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise error(f"{path}: file not found") from None
    except UnicodeDecodeError as e:
        raise error(f"{path}: not UTF-8 ({e}); TableQA files are UTF-8 JSON lines") from None
    for n, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        obj = io.loads_checked(line, f"{path}:{n}", error, line=True)
        if not isinstance(obj, dict):
            raise error(f"{path}:{n}: expected a JSON object per line, got {type(obj).__name__}")
        yield n, obj


def read_tables(path) -> dict[str, dict]:
    """{table id: table} from a `*.tables.json`. Required: id, header, types; name defaults to
    'Table_<id>' (the TableQA convention), title to '', rows to []. Cells are kept as given
    (real-typed cells may be numbers or numeric strings)."""
    tables: dict[str, dict] = {}
    for n, t in iter_json_lines(path):
        where = f"{path}:{n}"
        for key in ("id", "header", "types"):
            if key not in t:
                raise NL2SQLDataError(f"{where}: table is missing field '{key}' (has {', '.join(t) or 'nothing'})")
        tid = t["id"]
        if not isinstance(tid, str) or not tid:
            raise NL2SQLDataError(f"{where}: field 'id' must be a non-empty string, got {tid!r}")
        where = f"{where}: table '{tid}'"
        header, types = t["header"], t["types"]
        if not isinstance(header, list) or not all(isinstance(h, str) for h in header) or not header:
            raise NL2SQLDataError(f"{where}: field 'header' must be a non-empty list of strings")
        if not isinstance(types, list) or len(types) != len(header):
            raise NL2SQLDataError(f"{where}: field 'types' has {len(types) if isinstance(types, list) else '?'} "
                                  f"entries but 'header' has {len(header)}; one type per column")
        for i, ty in enumerate(types):
            if ty not in TYPES:
                raise NL2SQLDataError(f"{where}: field 'types[{i}]' (column '{header[i]}') is {ty!r}; "
                                      f"known types: {', '.join(TYPES)}")
        name = t.get("name") or "Table_" + re.sub(r"\W", "_", tid)
        if not isinstance(name, str):
            raise NL2SQLDataError(f"{where}: field 'name' must be a string, got {name!r}")
        rows = t.get("rows") or []
        if not isinstance(rows, list):
            raise NL2SQLDataError(f"{where}: field 'rows' must be a list of rows")
        for r, row in enumerate(rows):
            if not isinstance(row, list) or len(row) != len(header):
                raise NL2SQLDataError(f"{where}: field 'rows[{r}]' has "
                                      f"{len(row) if isinstance(row, list) else 'no list of'} cells but the header "
                                      f"has {len(header)} columns")
            for c, cell in enumerate(row):
                if cell is not None and not isinstance(cell, (str, int, float)) or isinstance(cell, bool):
                    raise NL2SQLDataError(f"{where}: field 'rows[{r}][{c}]' is {json.dumps(cell, ensure_ascii=False)}; "
                                          f"cells are strings, numbers or null")
        if tid in tables:
            raise NL2SQLDataError(f"{where}: duplicate table id (first seen at line {tables[tid]['_line']})")
        tables[tid] = {**t, "name": name, "title": t.get("title") or "", "rows": rows, "_line": n}
    for t in tables.values():
        del t["_line"]
    return tables


def read_questions(path, tables: dict | None = None, labelled: bool | None = None) -> list[dict]:
    """Questions of a `*.json`, each {table_id, question, [sql], ...} with `sql` normalised by check_sql.
    labelled=True: every line needs "sql"; False or None: "sql" is validated where present."""
    out = []
    for n, q in iter_json_lines(path):
        where = f"{path}:{n}"
        for key in ("question", "table_id"):
            if key not in q:
                raise NL2SQLDataError(f"{where}: missing field '{key}' (has {', '.join(q) or 'nothing'})")
            if not isinstance(q[key], str):
                raise NL2SQLDataError(f"{where}: field '{key}' must be a string, got {q[key]!r}")
            if not q[key].strip():
                raise NL2SQLDataError(f"{where}: field '{key}' is empty")
        tid = q["table_id"]
        table = None
        if tables is not None:
            table = tables.get(tid)
            if table is None:
                raise NL2SQLDataError(f"{where}: field 'table_id': unknown table '{tid}' (not among the "
                                      f"{len(tables)} tables of the tables file; wrong split's tables?)")
        if "sql" in q:
            try:
                q = {**q, "sql": check_sql(q["sql"], len(table["header"]) if table else None)}
            except SQLFieldError as e:
                field = e.field if e.field == "sql" else f"sql.{e.field}"
                raise NL2SQLDataError(f"{where}: field '{field}': {e.message}") from None
        elif labelled:
            raise NL2SQLDataError(f"{where}: missing field 'sql' in a labelled file (test questions are the "
                                  f"only unlabelled ones)")
        out.append(q)
    return out


def read_answers(path, tables: dict | None = None) -> list[dict]:
    """The organiser's answer format (`test.standard.json`, also a submission): one
    {agg, cond_conn_op, sel, table_id, conds} per line -> [{"table_id", "sql"}] in file order."""
    out = []
    for n, obj in iter_json_lines(path):
        where = f"{path}:{n}"
        tid = obj.get("table_id")
        if not isinstance(tid, str):
            raise NL2SQLDataError(f"{where}: field 'table_id' missing or not a string")
        if tables is not None and tid not in tables:
            raise NL2SQLDataError(f"{where}: field 'table_id': unknown table '{tid}'")
        try:
            sql = check_sql(obj, len(tables[tid]["header"]) if tables is not None else None)
        except SQLFieldError as e:
            raise NL2SQLDataError(f"{where}: field '{e.field}': {e.message}") from None
        out.append({"table_id": tid, "sql": sql})
    return out


def split_files(raw_dir, split: str) -> dict:
    """{"questions", "tables", "db", "column_values"} paths of a split. The competition layout is
    RAW/split/split.json (+ .tables.json, .db); a flat RAW/split.json (as in shared/data/nl2sql/wikisql)
    works too. db and column_values are None when absent."""
    raw = Path(raw_dir)
    for d in (raw / split, raw):
        q, t = d / f"{split}.json", d / f"{split}.tables.json"
        if q.exists() and t.exists():
            db, cv = d / f"{split}.db", d / f"{split}.column_values.json"
            return {"questions": q, "tables": t, "db": db if db.exists() else None,
                    "column_values": cv if cv.exists() else None}
    d = raw / split if (raw / split).is_dir() or not (raw / f"{split}.json").exists() else raw
    missing = [str(p) for p in (d / f"{split}.json", d / f"{split}.tables.json") if not p.exists()]
    raise NL2SQLDataError(f"NL2SQL split '{split}' is incomplete: {' and '.join(missing)} not found. Expected "
                          f"{raw}/{split}/{split}.json and {split}.tables.json ({split}.db optional).")


def load_split(raw_dir, split: str, labelled: bool | None = None):
    """(questions, tables, db path or None) of one split, validated against each other."""
    f = split_files(raw_dir, split)
    tables = read_tables(f["tables"])
    return read_questions(f["questions"], tables, labelled=labelled), tables, f["db"]


# ---------------------------------------------------------------- the files preprocess recorded, for every stage

def load(files: dict, split: str, labelled: bool | None):
    f = files[split]
    tables = read_tables(f["tables"])
    questions = read_questions(f["questions"], tables, labelled=labelled)
    if not questions:
        raise NL2SQLDataError(f"{f['questions']}: no questions (the file is empty); the {split} split needs some, "
                              f"or leave the split out of the data config")
    return questions, tables


def column_values(files: dict, split: str) -> dict:
    path = files.get(split, {}).get("column_values")
    return io.read_json(path) if path else {}
