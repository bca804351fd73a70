"""Head probabilities to SQL (the post's decoding, plus value snapping)."""
from __future__ import annotations

import numpy as np

from .encode import NO_AGG, NO_OP


class ValueSnapper:
    """Moves a predicted `==` value to the closest cell value of its column (rapidfuzz), when the
    table has rows or a column-values file lists them, and the match is close enough."""

    def __init__(self, tables: dict, column_values: dict | None = None, min_score: float = 60.0):
        self.tables, self.extra, self.min_score = tables, column_values or {}, min_score
        self._cache = {}

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
        col = int(csel[t:end + 1].mean(0).argmax())
        value = question[q_spans[t][0]:q_spans[end][1]]
        op = int(tags[t])
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
