"""Pointer probabilities to answers, as in the post's `extract_answer` (kexue.fm/archives/5409, 6906).

In a passage, every span (i, j) with p_start[i] > threshold, p_end[j] > threshold and i <= j < i + max_len is
a candidate scored p_start[i] * p_end[j]; the passage proposes its best one. Across a question's passages the
proposals vote: answers are grouped by kexue.qa.metric.normalise (the strings the metric compares) and a group
scores sum(p^2) / (1 + sum(p)), which rewards both agreement and confidence: one passage at 0.9 gives 0.43,
two at 0.6 give 0.33, three at 0.6 give 0.39. voting=False answers with the single best span instead.
A span that normalises to nothing (only punctuation or spaces) is no answer; no candidate at all gives "".
"""
from __future__ import annotations

import numpy as np

from .metric import normalise


def passage_spans(p_start, p_end, text: str, threshold: float = 0.1, max_len: int = 12) -> dict[str, float]:
    """Every candidate answer of one passage with its best score. Probabilities past len(text) (padding) and
    text past the probabilities (truncated by encode) are ignored."""
    n = min(len(text), len(p_start), len(p_end))
    p_start, p_end = np.asarray(p_start[:n], np.float64), np.asarray(p_end[:n], np.float64)
    ends = np.flatnonzero(p_end > threshold)
    out: dict[str, float] = {}
    for i in np.flatnonzero(p_start > threshold):
        for j in ends[(ends >= i) & (ends < i + max_len)]:
            span = text[i:j + 1]
            if normalise(span):
                out[span] = max(out.get(span, 0.0), float(p_start[i] * p_end[j]))
    return out


def vote(proposals) -> dict[str, float]:
    """{answer: score} from (answer, p) proposals. Equal normalised answers pool their p's; the group is named by
    its spelling with the most p behind it (the first proposed on a tie)."""
    groups: dict[str, dict[str, list]] = {}
    for answer, p in proposals:
        groups.setdefault(normalise(answer), {}).setdefault(answer, []).append(p)
    out = {}
    for spellings in groups.values():
        p = np.concatenate([np.asarray(v, np.float64) for v in spellings.values()])
        out[max(spellings, key=lambda a: sum(spellings[a]))] = float((p ** 2).sum() / (1 + p.sum()))
    return out


def decode_question(starts, ends, texts, threshold: float = 0.1, max_len: int = 12, voting: bool = True,
                    all_spans: bool = False, passages=None) -> str:
    """The answer to one question from its rows' pointer probabilities (lists aligned with texts).
    all_spans=True lets every candidate of a passage vote, as the post's code does, not only its best.
    passages[i] names the passage row i is a window of: a passage's windows pool their candidates (best score
    per span) and the passage votes once, so the overlap of two windows does not count twice."""
    by_passage: dict = {}
    for i, (s, e, text) in enumerate(zip(starts, ends, texts)):
        spans = by_passage.setdefault(i if passages is None else passages[i], {})
        for span, p in passage_spans(s, e, text, threshold, max_len).items():
            spans[span] = max(spans.get(span, 0.0), p)
    proposals = []
    for spans in by_passage.values():
        if spans:
            proposals += list(spans.items()) if all_spans else [max(spans.items(), key=lambda kv: kv[1])]
    if not proposals:
        return ""
    best = max(vote(proposals).items() if voting else proposals, key=lambda kv: kv[1])
    return best[0]


def decode(entries, enc, starts, ends, **options) -> dict[str, str]:
    """{question id: answer} for the entries an Encoded `enc` was made from; starts[i], ends[i] are row i's
    probabilities (padded rows are fine). options go to decode_question."""
    by_question: dict[int, list] = {}
    for i, (q, k) in enumerate(zip(enc.row_q, enc.row_passage)):
        by_question.setdefault(int(q), []).append((starts[i], ends[i], enc.row_text(entries, i), int(k)))
    out = {}
    for q, e in enumerate(entries):
        s, t, texts, passages = zip(*by_question[q]) if q in by_question else ((), (), (), ())
        out[e["id"]] = decode_question(s, t, texts, passages=passages, **options)
    return out
