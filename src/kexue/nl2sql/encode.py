"""Questions and tables to BERT inputs and head labels (the layout of Su Jianlin's baseline).

    [CLS] question [SEP] [CLS] header_1 [SEP] [CLS] header_2 [SEP] ...

Heads: the connector from the first [CLS]; (aggregation | not selected) from each header's
[CLS]; a condition-operator tag (4 ops | none) on each question token; and, on the tagged
tokens, which header the condition is on. Everything is stored ragged (concatenated arrays
plus offsets) so one `Encoded` holds a split of any size and slices without copying much.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from ..core.batching import RowView, round_up

NO_AGG = 6   # sel head class for "column not selected"
NO_OP = 4    # op head class for "token is not in a condition value"
IGNORE = -1


def _ngrams(question: str, max_words: int):
    """(start, end) char spans of 1..max_words consecutive jieba words, spaces not counted."""
    import jieba
    words = [(s, e) for w, s, e in jieba.tokenize(question) if w.strip()]
    for i in range(len(words)):
        for j in range(i, min(i + max_words, len(words))):
            yield words[i][0], words[j][1]


def _number_forms(value: str) -> list[str]:
    """'3.0' is often written '3' in a question, and '2011' as '11'."""
    forms = [value]
    try:
        x = float(value)
    except ValueError:
        return forms
    if not np.isfinite(x):  # 'nan', 'inf' are words here
        return forms
    if x == int(x):
        forms.append(str(int(x)))
    forms.append(f"{x:g}")
    return list(dict.fromkeys(forms))


def align_value(question: str, value: str, taken=(), min_ratio: float = 50.0) -> tuple[int, int] | None:
    """Character span of a condition value in its question.

    Verbatim first (then case-insensitive, then numeric variants), skipping spans already used by
    another condition (a value such as '11' can occur twice for two conditions); otherwise the
    closest word n-gram (jieba), as in the post; None when nothing is close enough."""
    free = lambda s, e: all(e <= a or s >= b for a, b in taken)
    lower = question.lower()
    same_length = len(lower) == len(question)
    for form in _number_forms(value):
        for hay, needle in ((question, form), (lower, form.lower()) if same_length else (question, form)):
            for m in re.finditer(re.escape(needle), hay):
                if needle and free(m.start(), m.end()):
                    return m.start(), m.end()
    from rapidfuzz import fuzz
    best, best_score = None, min_ratio
    n_words = max(1, len(value.split())) + 1
    for s, e in _ngrams(question, n_words):
        if free(s, e):
            score = fuzz.ratio(value.lower(), lower[s:e] if same_length else question[s:e])
            if score > best_score:
                best, best_score = (s, e), score
    return best


@dataclass
class Encoded:
    """A split, ragged. Row i's tokens are ids[tok_off[i]:tok_off[i+1]]; tokens 1..q_len[i] are
    the question's, with char spans q_spans[q_off[i]:q_off[i+1]]; its headers' [CLS] positions are
    h_pos[h_off[i]:h_off[i+1]]. Labels (when present) follow the same offsets."""
    ids: np.ndarray
    tok_off: np.ndarray
    q_len: np.ndarray
    q_spans: np.ndarray
    q_off: np.ndarray
    h_pos: np.ndarray
    h_off: np.ndarray
    q_max: int
    h_max: int
    labels: dict = field(default_factory=dict)   # conn (n,), sel (concat over headers), op, csel (concat over q tokens)
    stats: dict = field(default_factory=dict)

    def __len__(self):
        return len(self.q_len)

    @property
    def n_headers(self) -> np.ndarray:
        return np.diff(self.h_off)

    def row(self, i: int) -> dict:
        t, q, h = slice(*self.tok_off[i:i + 2]), slice(*self.q_off[i:i + 2]), slice(*self.h_off[i:i + 2])
        out = {"ids": self.ids[t], "q_spans": self.q_spans[q], "h_pos": self.h_pos[h]}
        if self.labels:
            out.update(conn=self.labels["conn"][i], sel=self.labels["sel"][h], op=self.labels["op"][q],
                       csel=self.labels["csel"][q])
        return out

    def take(self, idx) -> RowView:
        return RowView(self, idx)

    @property
    def has_labels(self) -> bool:
        return bool(self.labels)

    def save(self, path) -> None:
        from ..core import io
        arrays = {k: getattr(self, k) for k in ("ids", "tok_off", "q_len", "q_spans", "q_off", "h_pos", "h_off")}
        arrays.update({f"label_{k}": v for k, v in self.labels.items()})
        arrays["maxima"] = np.array([self.q_max, self.h_max])
        with io.atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, **arrays)

    @classmethod
    def load(cls, path) -> Encoded:
        with np.load(path) as z:
            labels = {k[6:]: z[k] for k in z.files if k.startswith("label_")}
            q_max, h_max = (int(v) for v in z["maxima"])
            return cls(**{k: z[k] for k in ("ids", "tok_off", "q_len", "q_spans", "q_off", "h_pos", "h_off")},
                       q_max=q_max, h_max=h_max, labels=labels)


def encode(questions: list[dict], tables: dict, tokenizer, max_len: int = 512, max_header_tokens: int = 16,
           with_labels: bool = True, progress: bool = False) -> Encoded:
    """Tokenise every question with its table's headers and, when labelled, build the head labels."""
    from tqdm import tqdm
    ids, tok_off, q_len, q_spans, q_off, h_pos, h_off = [], [0], [], [], [0], [], [0]
    lab = {"conn": [], "sel": [], "op": [], "csel": []}
    stats = {"conds": 0, "verbatim": 0, "aligned": 0, "unaligned": 0, "past_limit": 0, "sel_collisions": 0,
             "truncated": 0, "tables_shortened": 0}
    header_cache = {}
    for q in tqdm(questions, desc="encode", unit="q", disable=not progress, mininterval=2):
        if q["table_id"] not in header_cache:
            header_cache[q["table_id"]] = fit_headers(q["table_id"], tables[q["table_id"]]["header"], tokenizer,
                                                      max_len, max_header_tokens, stats)
        headers = header_cache[q["table_id"]]
        qids, spans = tokenizer.tokenize(q["question"])
        budget = max_len - 2 - sum(len(h) + 2 for h in headers)
        if len(qids) > budget:
            stats["truncated"] += 1
            qids, spans = qids[:budget], spans[:budget]
        seq = [tokenizer.cls_id, *qids, tokenizer.sep_id]
        for h in headers:
            h_pos.append(len(seq))
            seq += [tokenizer.cls_id, *h, tokenizer.sep_id]
        ids.extend(seq)
        tok_off.append(len(ids))
        q_len.append(len(qids))
        q_spans.extend(spans)
        q_off.append(len(q_spans))
        h_off.append(len(h_pos))
        if with_labels and "sql" in q:
            _labels(q, len(headers), spans, lab, stats)
    enc = Encoded(np.asarray(ids, np.int32), np.asarray(tok_off, np.int64), np.asarray(q_len, np.int32),
                  np.asarray(q_spans, np.int32).reshape(-1, 2), np.asarray(q_off, np.int64),
                  np.asarray(h_pos, np.int32), np.asarray(h_off, np.int64),
                  q_max=int(max(q_len, default=1)), h_max=int(max(np.diff(h_off), default=1)), stats=stats)
    if lab["conn"]:
        if len(lab["conn"]) != len(questions):
            raise ValueError("some questions have an sql field and some do not; a split is labelled or not")
        enc.labels = {"conn": np.asarray(lab["conn"], np.int8), **{k: np.asarray(lab[k], np.int8)
                                                                   for k in ("sel", "op", "csel")}}
    return enc


def fit_headers(table_id: str, header: list[str], tokenizer, max_len: int, max_header_tokens: int,
                stats: dict) -> list[list[int]]:
    """The table's header tokens, each cut to max_header_tokens; on a table so wide that the question would
    keep fewer than `min(16, max_len // 4)` tokens, cut shorter (down to 1 token a header) and count it in
    stats["tables_shortened"]. A table too wide even then stops, naming it."""
    tokens = [tokenizer.tokenize(h)[0] for h in header]
    floor = min(16, max_len // 4)
    cap = max_header_tokens
    while cap > 1 and max_len - 2 - sum(min(len(t), cap) + 2 for t in tokens) < floor:
        cap -= 1
    if cap < max_header_tokens and any(len(t) > cap for t in tokens):
        stats["tables_shortened"] += 1
    budget = max_len - 2 - sum(min(len(t), cap) + 2 for t in tokens)
    if budget < 1:
        from .data import NL2SQLDataError
        raise NL2SQLDataError(f"table '{table_id}' (id field): its {len(header)} columns need {2 + 3 * len(header)} tokens even "
                              f"at one token a header name, more than max_len={max_len}; raise max_len (up to the "
                              f"checkpoint's positions) or drop columns from the table")
    return [t[:cap] for t in tokens]


def _labels(q: dict, n_headers: int, spans, lab: dict, stats: dict) -> None:
    sql = q["sql"]
    lab["conn"].append(int(sql["cond_conn_op"]))
    sel = [NO_AGG] * n_headers
    for col, agg in zip(sql["sel"], sql["agg"]):
        stats["sel_collisions"] += sel[col] != NO_AGG  # one column selected twice: the head keeps one
        sel[col] = int(agg)
    lab["sel"].extend(sel)
    op, csel, taken = [NO_OP] * len(spans), [IGNORE] * len(spans), []
    for col, cop, value in sql["conds"]:
        stats["conds"] += 1
        span = align_value(q["question"], str(value), taken)
        if span is None:
            stats["unaligned"] += 1
            continue
        taken.append(span)
        tagged = [t for t, (s, e) in enumerate(spans) if s < span[1] and e > span[0]]
        if not tagged:                  # found, but past the tokens the question kept (truncated at max_len)
            stats["past_limit"] += 1
            continue
        stats["verbatim" if q["question"][span[0]:span[1]].lower() == str(value).lower() else "aligned"] += 1
        for t in tagged:
            op[t], csel[t] = int(cop), int(col)
    lab["op"].extend(op)
    lab["csel"].extend(csel)


def pad_batch(rows: list[dict], q_pad: int | None = None, h_pad: int | None = None, multiple: int = 8):
    """Model inputs (and labels when the rows have them), padded to the batch's longest row,
    rounded up to `multiple` so a few shapes cover all batches (fewer graph retraces)."""
    L = round_up(max(len(r["ids"]) for r in rows), multiple)
    Q = q_pad or round_up(max(len(r["q_spans"]) for r in rows), multiple)
    H = h_pad or round_up(max(len(r["h_pos"]) for r in rows), multiple)
    b = len(rows)
    x = {"token_ids": np.zeros((b, L), np.int32), "segment_ids": np.zeros((b, L), np.int32),
         "padding_mask": np.zeros((b, L), bool),
         "h_pos": np.zeros((b, H), np.int32), "h_mask": np.zeros((b, H), bool), "q_mask": np.zeros((b, Q), bool),
         "h_pool": np.zeros((b, H, L), np.float32)}
    has_labels = "conn" in rows[0]
    y = {"conn": np.zeros(b, np.int32), "sel": np.full((b, H), IGNORE, np.int32),
         "op": np.full((b, Q), IGNORE, np.int32), "csel": np.full((b, Q), IGNORE, np.int32)} if has_labels else None
    for i, r in enumerate(rows):
        n, nq, nh = len(r["ids"]), len(r["q_spans"]), len(r["h_pos"])
        x["token_ids"][i, :n] = r["ids"]
        x["padding_mask"][i, :n] = True
        x["segment_ids"][i, r["h_pos"][0] if nh else n:n] = 1  # headers are the second segment, as in a pair
        x["h_pos"][i, :nh] = r["h_pos"]
        x["h_mask"][i, :nh] = True
        ends = [*r["h_pos"][1:], n]  # header h is [CLS] tokens [SEP], ending where the next one starts
        for h, (start, end) in enumerate(zip(r["h_pos"], ends)):
            x["h_pool"][i, h, start + 1:end - 1] = 1.0 / max(1, end - start - 2)
        x["q_mask"][i, :nq] = True
        if has_labels:
            y["conn"][i] = r["conn"]
            y["sel"][i, :nh] = r["sel"]
            y["op"][i, :nq] = r["op"]
            y["csel"][i, :nq] = r["csel"]
    return x, y
