"""Head probabilities to SQL (the post's decoding, plus value snapping)."""
from __future__ import annotations

import numpy as np

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

    def __call__(self, table_id: str, col: int, value: str) -> str:
        from rapidfuzz import fuzz, process, utils
        candidates = self.values(table_id, col)
        if not candidates or value in candidates:
            return value
        best = process.extractOne(value, candidates, scorer=fuzz.WRatio, processor=utils.default_process,
                                  score_cutoff=self.min_score)
        return best[0] if best else value


def decode_one(prob: dict, i: int, n_q: int, n_h: int, q_spans, question: str, table_id: str,
               types: list[str], snap=None) -> dict:
    """SQL dict for row i of the head probabilities."""
    conn = int(np.argmax(prob["conn"][i]))
    sel_p = np.asarray(prob["sel"][i, :n_h], np.float32)
    picks = sel_p.argmax(1)
    sel = [(h, int(a)) for h, a in enumerate(picks) if a != NO_AGG]
    if not sel:  # every question selects something: take the likeliest column
        h = int((1 - sel_p[:, NO_AGG]).argmax())
        sel = [(h, int(sel_p[h, :NO_AGG].argmax()))]
    tags = np.asarray(prob["op"][i, :n_q], np.float32).argmax(1)
    csel = np.asarray(prob["csel"][i, :n_q, :n_h], np.float32)
    conds, t = [], 0
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
        col = snap.pick_column(table_id, col_prob, value) if snap is not None and op == 2 else int(col_prob.argmax())
        if snap is not None and op == 2 and types[col] == "text":
            value = snap(table_id, col, value)
        cond = [col, op, value]
        if cond not in conds:
            conds.append(cond)
        t = end + 1
    if len(conds) <= 1:
        conn = 0            # the data's convention: one condition has no connector
    elif conn == 0:
        conn = 1
    return {"sel": [h for h, _ in sel], "agg": [a for _, a in sel], "cond_conn_op": conn, "conds": conds}


def decode(prob: dict, encoded, questions: list[dict], tables: dict, snap=None, rows=None) -> list[dict]:
    """SQL for each row of `encoded` (an Encoded or a view; `rows` indexes into prob, default 0..n-1)."""
    out = []
    for k in range(len(encoded)):
        r = encoded.row(k)
        q = questions[k]
        table = tables[q["table_id"]]
        out.append(decode_one(prob, k if rows is None else rows[k], len(r["q_spans"]), len(r["h_pos"]),
                              r["q_spans"], q["question"], q["table_id"], table["types"], snap))
    return out


def snapper(decode_cfg: dict, tables: dict, values: dict):
    """The decode config's value snapping and value-to-column matching (None: neither)."""
    if not decode_cfg["snap"]:
        return None
    match = decode_cfg.get("match_columns_min_prob")
    return ValueSnapper(tables, values, float(decode_cfg["snap_min_score"]),
                        None if match is None else float(match))
