"""Head probabilities to SQL (the post's decoding, plus value snapping)."""
from __future__ import annotations

import re
from decimal import Decimal

import numpy as np

from .data import value_str
from .encode import NO_AGG, NO_OP


class ValueSnapper:
    """Moves a predicted `==` value to the closest cell value of its column (rapidfuzz), when the
    table has rows or a column-values file lists them, and the match is close enough."""

    def __init__(self, tables: dict, column_values: dict | None = None, min_score: float = 60.0,
                 match_min_prob: float | None = None):
        self.tables, self.extra, self.min_score = tables, column_values or {}, min_score
        self.match_min_prob = match_min_prob
        self._cache, self._holders = {}, {}

    def columns_holding(self, table_id: str, value: str) -> set[int]:
        """The columns with a cell equal to `value` (case-insensitively)."""
        if table_id not in self._holders:
            index = {}
            for col in range(len(self.tables[table_id]["header"])):
                for v in self.values(table_id, col):
                    index.setdefault(v.strip().casefold(), set()).add(col)
            self._holders[table_id] = index
        return self._holders[table_id].get(value.strip().casefold(), set())

    def pick_column(self, table_id: str, col_prob: np.ndarray, value: str) -> int:
        """The likeliest condition column, unless the value is a cell of other columns only: then the
        likeliest of those, if the model gives it at least match_min_prob. A value names its column
        more reliably than the question's wording ("ashcott and shapwick" is a Somerset parish)."""
        col = int(col_prob.argmax())
        if self.match_min_prob is None:
            return col
        holders = [c for c in self.columns_holding(table_id, value) if c < len(col_prob)]
        if not holders or col in holders:
            return col
        best = max(holders, key=lambda c: col_prob[c])
        return best if col_prob[best] >= self.match_min_prob else col

    def values(self, table_id: str, col: int) -> list[str]:
        key = (table_id, col)
        if key not in self._cache:
            table = self.tables[table_id]
            vals = [str(r[col]) for r in table.get("rows") or [] if col < len(r) and r[col] not in (None, "")]
            extra = self.extra.get(table_id)
            if extra and col < len(extra):
                vals += [str(v) for v in extra[col]]
            self._cache[key] = list(dict.fromkeys(vals))
        return self._cache[key]

    def fits(self, table_id: str, col: int, value: str) -> bool | None:
        """Whether `value` is, or is close enough to, a cell of the column (None: its cells are unknown)."""
        from rapidfuzz import fuzz, process, utils
        candidates = self.values(table_id, col)
        if not candidates:
            return None
        return value in candidates or process.extractOne(value, candidates, scorer=fuzz.WRatio,
                                                         processor=utils.default_process,
                                                         score_cutoff=self.min_score) is not None

    def __call__(self, table_id: str, col: int, value: str) -> str:
        from rapidfuzz import fuzz, process, utils
        candidates = self.values(table_id, col)
        if not candidates or value in candidates:
            return value
        best = process.extractOne(value, candidates, scorer=fuzz.WRatio, processor=utils.default_process,
                                  score_cutoff=self.min_score)
        return best[0] if best else value


COMPARISONS = (0, 1)            # > and <: a text column has no order to compare with
TEXT_AGGS = (0, 4, NO_AGG)      # what a text column can be selected with: itself or COUNT (never AVG/MAX/MIN/SUM)


class Guide:
    """The decode options that let the table rule candidates out (configs/nl2sql/decode.yaml), each alone:
      types      no AVG/MAX/MIN/SUM of a text column, no > or < on one (WikiSQL's 15,878 training questions
                 have none of either; the generated sample makes none): the likeliest allowed choice instead
      cells      an == value on a text column whose cells are known (rows or the column-values file) must be
                 close to one of them (the snapper's test): else the likeliest column it is close to
      execution  when the table has rows (or a db), a query whose conditions select no row is replaced by the
                 likeliest of up to `beam` one-change alternatives (another column or operator for one
                 condition) whose conditions select some: execution-guided decoding
      numbers    a value on a real column is read as the table writes numbers (read_number): the question's
                 "1.3万" is 13000, "92年" 1992, "五" 5, when the tagged span holds the digits only
    `executor` runs a query (sql.Executor or a dispatcher with can_execute/execute); None: no execution."""

    def __init__(self, types: bool = False, cells: bool = False, execution: bool = False, executor=None,
                 beam: int = 8, numbers: bool = False):
        self.types, self.cells, self.beam, self.numbers = types, cells, beam, numbers
        self.executor = executor if execution else None


def breaks_types(sql: dict, types: list[str]) -> bool:
    """Whether a (gold) query does what `types` rules out: the check that the rule holds in a training split."""
    text = lambda c: c < len(types) and types[c] != "real"
    return any(text(c) and a not in TEXT_AGGS for c, a in zip(sql["sel"], sql["agg"])) or \
        any(text(c) and o in COMPARISONS for c, o, _ in sql["conds"])


def guide(decode_cfg: dict, executor=None) -> Guide | None:
    """The decode config's Guide (None when every option is off)."""
    flags = {k: bool(decode_cfg.get(k, False)) for k in ("types", "cells", "execution", "numbers")}
    return Guide(**flags, executor=executor) if any(flags.values()) else None


def selects_rows(executor, sql: dict, table_id: str) -> bool:
    """Whether the query's conditions select any row (asked without the aggregations: a COUNT of nothing is 0,
    not an empty result)."""
    return bool(executor.execute({**sql, "agg": [0] * len(sql["sel"])}, table_id))


def decode_one(prob: dict, i: int, n_q: int, n_h: int, q_spans, question: str, table_id: str,
               types: list[str], snap=None, guide: Guide | None = None) -> dict:
    """SQL dict for row i of the head probabilities."""
    g = guide or Guide()
    text = [t != "real" for t in types[:n_h]]
    conn = int(np.argmax(prob["conn"][i]))
    sel_p = np.asarray(prob["sel"][i, :n_h], np.float32).copy()
    if g.types:
        for h in np.flatnonzero(text):
            sel_p[h, [a for a in range(sel_p.shape[1]) if a not in TEXT_AGGS]] = 0
    picks = sel_p.argmax(1)
    sel = [(h, int(a)) for h, a in enumerate(picks) if a != NO_AGG]
    if not sel:  # every question selects something: take the likeliest column
        h = int((1 - sel_p[:, NO_AGG]).argmax())
        sel = [(h, int(sel_p[h, :NO_AGG].argmax()))]
    tags = np.asarray(prob["op"][i, :n_q], np.float32).argmax(1)
    op_all = np.asarray(prob["op"][i, :n_q], np.float32)
    csel = np.asarray(prob["csel"][i, :n_q, :n_h], np.float32)
    conds, ranked, t = [], [], 0
    allowed = lambda c, o: not (g.types and text[c] and o in COMPARISONS)
    while t < n_q:  # a run of tokens with the same operator tag is one condition value
        if tags[t] == NO_OP:
            t += 1
            continue
        end = t
        while end + 1 < n_q and tags[end + 1] == tags[t]:
            end += 1
        value = question[q_spans[t][0]:q_spans[end][1]]
        op = int(tags[t])
        col_prob = csel[t:end + 1].mean(0)
        op_prob = op_all[t:end + 1, :NO_OP].mean(0)
        op_prob = op_prob / max(float(op_prob.sum()), 1e-9)
        # every (column, operator) the table allows, likeliest first: the alternatives of this condition
        pairs = sorted(((float(np.log(col_prob[c] + 1e-9) + np.log(op_prob[o] + 1e-9)), c, o)
                        for c in range(n_h) for o in range(NO_OP) if allowed(c, o)), reverse=True)
        col = snap.pick_column(table_id, col_prob, value) if snap is not None and op == 2 else int(col_prob.argmax())
        if not allowed(col, op):
            _, col, op = pairs[0]
        if g.cells and snap is not None and op == 2 and text[col] and snap.fits(table_id, col, value) is False:
            col = next((c for _, c, o in pairs if o == 2 and text[c] and snap.fits(table_id, c, value)), col)
        # the character after the span, for reading a number (a unit, 万 or 亿, or 年); None: not read
        after = question[q_spans[end][1]:q_spans[end][1] + 1] if g.numbers else None
        ranked.append((pairs, value, after))
        cond = [col, op, _value(snap, table_id, col, op, value, types, after)]
        if cond not in conds:
            conds.append(cond)
        t = end + 1
    sql = _sql(sel, conds, conn)
    if g.executor is not None and g.executor.can_execute(table_id) and conds and len(conds) == len(ranked) \
            and not selects_rows(g.executor, sql, table_id):
        for alt in _alternatives(conds, ranked, snap, table_id, types)[:g.beam]:
            candidate = _sql(sel, alt, conn)
            if selects_rows(g.executor, candidate, table_id):
                return candidate
    return sql


def _value(snap, table_id, col, op, value, types, after=None):
    """The condition's value: snapped to a cell (== on a text column); read as a number on a real column when
    `after` (the character after the span, guide.numbers) is given."""
    if types[col] == "text":
        return snap(table_id, col, value) if snap is not None and op == 2 else value
    if after is None:
        return value
    return read_number(value, after, snap.values(table_id, col) if snap is not None else ())


CN_DIGITS = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"两": 2}
UNITS = {"万": 10 ** 4, "亿": 10 ** 8}


def _cn_int(text: str) -> int | None:
    """五 -> 5, 十五 -> 15, 二十 -> 20, 二十三 -> 23; None for anything else."""
    if len(text) == 1 and text in CN_DIGITS:
        return CN_DIGITS[text]
    m = re.fullmatch(r"([一二两三四五六七八九]?)十([一二三四五六七八九]?)", text)
    if not m:
        return None
    return (CN_DIGITS[m[1]] if m[1] else 1) * 10 + (CN_DIGITS[m[2]] if m[2] else 0)


def read_number(value: str, after: str = "", cells=()) -> str:
    """A value on a real column as the table writes numbers. Readings of the span and the character after it:
    the number itself; times 10^4 or 10^8 before 万/亿 (or ending in it); 19NN or 20NN for two digits before
    年 (digits only: 十五年 is fifteen years). With numeric cells known, the reading nearest the cells' range
    (relative to their size) wins, the unit or year reading on a tie, so a column that stores 万 units
    ("成交量(万)") keeps 1.3; without cells, the unit or the year reading wins (a year reading takes 20NN up to
    2030). Anything that is not a number is returned as it is."""
    text, unit = value.strip(), after[:1]
    if text[-1:] in UNITS and len(text) > 1:
        text, unit = text[:-1], text[-1]
    n = _cn_int(text)
    if n is not None:
        text = str(n)
    if not re.fullmatch(r"\d+(\.\d+)?", text):
        return value
    x = Decimal(text)                   # exact: 2.3亿 is 230000000, not 229999999.99999997
    year = n is None and unit == "年" and re.fullmatch(r"\d\d", text)   # "15年", never 十五年 (a duration)
    if n is None and unit not in UNITS and not year:
        return value                    # a plain number stays as the question writes it ("0.50", "05")
    readings = []                       # the unit or year readings first: they win ties
    if unit in UNITS:
        readings.append(x * UNITS[unit])
    elif year:
        readings += [2000 + x, 1900 + x] if x <= 30 else [1900 + x, 2000 + x]
    readings.append(x)
    nums = [Decimal(str(c).strip()) for c in cells if re.fullmatch(r"-?\d+(\.\d+)?", str(c).strip())]
    if nums and len(readings) > 1:
        lo, hi = min(nums), max(nums)
        off = lambda r: 0.0 if lo <= r <= hi else min(abs(r - lo), abs(r - hi)) / max(abs(hi), abs(lo), 1)
        best = min(readings, key=off)   # the first of the nearest: 5万 in a column of 1..120000 is 50000
    else:
        best = readings[0]
    return value_str(int(best) if best == int(best) else float(best))


def _sql(sel, conds, conn) -> dict:
    if len(conds) <= 1:
        conn = 0            # the data's convention: one condition has no connector
    elif conn == 0:
        conn = 1
    return {"sel": [h for h, _ in sel], "agg": [a for _, a in sel], "cond_conn_op": conn, "conds": conds}


def _alternatives(conds, ranked, snap, table_id, types) -> list[list]:
    """The conditions with one changed, the smallest loss of log-probability first: a condition's next
    (column, operator) pairs among its four likeliest."""
    out = []
    for k, (pairs, value, after) in enumerate(ranked):
        now = next((s for s, c, o in pairs if [c, o] == conds[k][:2]), pairs[0][0])
        for s, c, o in pairs[:4]:
            if [c, o] != conds[k][:2]:
                alt = [list(x) for x in conds]
                alt[k] = [c, o, _value(snap, table_id, c, o, value, types, after)]
                out.append((now - s, k, alt))
    return [alt for *_, alt in sorted(out, key=lambda x: x[:2])]


def decode(prob: dict, encoded, questions: list[dict], tables: dict, snap=None, rows=None,
           guide: Guide | None = None) -> list[dict]:
    """SQL for each row of `encoded` (an Encoded or a view; `rows` indexes into prob, default 0..n-1)."""
    out = []
    for k in range(len(encoded)):
        r = encoded.row(k)
        q = questions[k]
        table = tables[q["table_id"]]
        out.append(decode_one(prob, k if rows is None else rows[k], len(r["q_spans"]), len(r["h_pos"]),
                              r["q_spans"], q["question"], q["table_id"], table["types"], snap, guide))
    return out


def snapper(decode_cfg: dict, tables: dict, values: dict):
    """The decode config's value snapping and value-to-column matching (None: neither)."""
    if not decode_cfg["snap"]:
        return None
    match = decode_cfg.get("match_columns_min_prob")
    return ValueSnapper(tables, values, float(decode_cfg["snap_min_score"]),
                        None if match is None else float(match))
