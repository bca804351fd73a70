"""The official SogouQA evaluation (CIPS-SOGOU 2017, `evaluate_tool_README.md`): score = (accuracy + F1) / 2.

Both the prediction and every accepted answer (the standard answer and the alternatives of `qid_answer_expand`)
are normalised: full-width to half-width, lower case, the official punctuation removed, whitespace removed.
- accuracy: the normalised prediction equals a normalised accepted answer. Removing whitespace makes this the
  README's token rule too: '巴西 俄罗斯' and '巴西俄罗斯' are one answer.
- F1: character-level multiset overlap of the normalised strings, the best over the accepted answers. Two
  empty strings match (F1 1), an empty one against a non-empty one scores 0.
Averages run over the predicted questions, as the official tool does over its input file, or over `qids`,
where a missing prediction counts as the empty answer.

The official punctuation list is 129 characters of plain punctuation and symbols (plus space, DEL and U+3000),
short enough to embed as PUNCTUATION; `load_punctuation(path)` reads the organiser's file instead, and a test
checks the two agree.

    python -m kexue.qa.metric GOLD_EXPAND PRED [--all] [--punctuation FILE] [--out DETAILS.tsv]
"""
from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import numpy as np

from ..core import io
from .data import QADataError, read_answer_expand, read_submission

PUNCTUATION = (
    " `^~<=>|_-,;:!?/.'\"()[]{}@$*\\&#%+\x7f"
    "…‰※•—‖‘’“”№←↑→↓∴∨∵∶∩∈∑√∞≯≡≮≤≥≈≌⊥⊙⌒□◆◇◎●★☆♀♂¨°·§¤±"
    "\u3000、。〃々〈〉《》「」『』【】〓〔〕〖〗÷×′▲″△∠≠■ˇˉ￣￥＿！＄（），．：；？～﹑￠"
)
_FULL_TO_HALF = {0x3000: 0x20, **{c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)}}
_deletions: dict[str, dict] = {}


def load_punctuation(path) -> str:
    """The characters of a punctuation file, one per line (the organiser's `punctuation`)."""
    text = Path(path).read_text(encoding="utf-8")
    return "".join(dict.fromkeys(line for line in text.split("\n") if line))


def normalise(text: str, punctuation: str = PUNCTUATION) -> str:
    if punctuation not in _deletions:
        _deletions[punctuation] = dict.fromkeys(map(ord, punctuation))
    text = text.translate(_FULL_TO_HALF).lower().translate(_deletions[punctuation])
    return "".join(text.split())


def question_groups(entries: list[dict]) -> np.ndarray:
    """The question group of every training row (passage): a question's passages, questions with the same
    normalised text, and questions asked on the same passage (SQuAD-style sets ask five on one paragraph)
    share one, so no split puts a question, or a passage the model read the answer in, on both sides."""
    parent = list(range(len(entries)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict = {}
    for i, e in enumerate(entries):
        keys = [("q", normalise(e["question"]) or e["id"])] + [("p", p["passage"]) for p in e["passages"]]
        for key in keys:
            j = first.setdefault(key, i)
            parent[root(i)] = root(j)
    roots = [root(i) for i in range(len(entries))]
    index = {r: k for k, r in enumerate(dict.fromkeys(roots))}
    return np.array([index[r] for r, e in zip(roots, entries) for _ in e["passages"]], np.int64)


def char_prf(pred: str, gold: str) -> tuple[float, float, float]:
    """(precision, recall, F1) of two normalised strings, counting characters with multiplicity."""
    if not pred or not gold:
        return (1.0, 1.0, 1.0) if pred == gold else (0.0, 0.0, 0.0)
    common = sum((Counter(pred) & Counter(gold)).values())
    if not common:
        return 0.0, 0.0, 0.0
    p, r = common / len(pred), common / len(gold)
    return p, r, 2 * p * r / (p + r)


def accepted(gold_answer: dict) -> list[str]:
    """The standard answer, then the alternatives, without repeats or empty strings."""
    return [a for a in dict.fromkeys([gold_answer["standard"], *gold_answer["alternatives"]]) if a]


def evaluate(pred: dict, gold: dict, qids=None, punctuation: str = PUNCTUATION) -> list[dict]:
    """One row per question, the official tool's columns: qid, answer, correct, f1, precision, recall, and the
    accepted answer that gave the best F1."""
    qids = list(pred if qids is None else qids)
    unknown = [q for q in qids if q not in gold]
    if unknown:
        raise ValueError(f"{len(unknown)} questions have no gold answers (e.g. {unknown[:3]}); wrong gold file?")
    rows = []
    for qid in qids:
        answer = pred.get(qid, "")
        norm = normalise(answer, punctuation)
        options = [(a, normalise(a, punctuation)) for a in accepted(gold[qid])]
        best, (p, r, f1) = max(((a, char_prf(norm, n)) for a, n in options), key=lambda x: x[1][2],
                               default=("", (0.0, 0.0, 0.0)))
        rows.append({"qid": qid, "answer": answer, "correct": any(norm == n for _, n in options),
                     "f1": f1, "precision": p, "recall": r, "best": best})
    return rows


def score(pred: dict, gold: dict, qids=None, punctuation: str = PUNCTUATION) -> dict:
    """{"accuracy", "f1", "score", "n"} of predictions {qid: answer} against gold {qid: {"standard",
    "alternatives"}} (read_answer_expand, gold_from_entries)."""
    return summarise(evaluate(pred, gold, qids, punctuation))


def summarise(rows: list[dict]) -> dict:
    """score()'s numbers from evaluate()'s rows."""
    if not rows:
        raise ValueError("nothing to score: no predictions (and no qids)")
    accuracy = sum(r["correct"] for r in rows) / len(rows)
    f1 = sum(r["f1"] for r in rows) / len(rows)
    return {"accuracy": accuracy, "f1": f1, "score": (accuracy + f1) / 2, "n": len(rows)}


def gold_from_entries(entries) -> dict:
    """Gold in read_answer_expand's form from labelled entries (read_dgcnn, read_squad): the standard is the first
    answer, the alternatives every distinct one (passage answers, then SQuAD's "answers"). Questions without any
    answer are left out: nothing can be scored against them."""
    gold = {}
    for e in entries:
        answers = [p["answer"] for p in e["passages"] if p.get("answer")] + list(e.get("answers", []))
        answers = [a for a in dict.fromkeys(answers) if a]
        if answers:
            gold[e["id"]] = {"standard": answers[0], "alternatives": answers}
    return gold


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m kexue.qa.metric", description=__doc__.split("\n\n")[0])
    p.add_argument("gold", help="qid_answer_expand: qid<TAB>standard answer<TAB>alt1|alt2…")
    p.add_argument("pred", help="qid<TAB>answer lines (a submission)")
    p.add_argument("--all", action="store_true", help="average over every gold question; missing ones score 0")
    p.add_argument("--punctuation", help="a punctuation file to use instead of the embedded official list")
    p.add_argument("--out", help="write the per-question details here (tab-separated, the official columns)")
    a = p.parse_args(argv)
    try:
        gold, pred = read_answer_expand(a.gold), read_submission(a.pred)
        punctuation = load_punctuation(a.punctuation) if a.punctuation else PUNCTUATION
        rows = evaluate(pred, gold, list(gold) if a.all else None, punctuation)
        result = summarise(rows)
    except (QADataError, ValueError, OSError) as e:
        raise SystemExit(f"error: {e}") from None
    if a.out:
        io.write_text(a.out, "".join(f"{r['qid']}\t{r['answer']}\t{int(r['correct'])}\t{r['f1']:.6f}\t"
                                     f"{r['precision']:.6f}\t{r['recall']:.6f}\t{r['best']}\n" for r in rows))
    print(f"n {result['n']}  accuracy {result['accuracy']:.6f}  f1 {result['f1']:.6f}  score {result['score']:.6f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
