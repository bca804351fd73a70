"""Entries (kexue.qa.data) to DGCNN inputs: one row per (question, passage) pair, as character ids plus, for the
mixed char-word embedding of kexue.fm/archives/6906, the id of the jieba word each character belongs to (a word's
id repeated over its characters, so both sequences have the text's length).

Labels follow the post's code: every non-overlapping occurrence of the answer string in the passage gets start 1
at its first character and end 1 at its last. An answer that is not itself a substring (a multi-entity answer
'A B' whose parts only occur separately) marks nothing: marking each part would teach spans the metric counts
wrong. Such passages, and passages whose every occurrence lies past the truncation, become rows without an
answer (has_answer 0); `stats` counts both.

A question keeps its first q_max characters. A passage longer than p_max becomes overlapping windows of p_max
characters, p_stride apart, the last one ending on the passage's end (a row each, `row_offset` its first
character; an occurrence is marked in every window that holds it whole); with p_stride null it is cut at p_max as
in the post's code, and an occurrence crossing the cut is lost. Decoding merges a passage's windows back into one
passage before voting.

Word vectors: `train_word2vec` on the segmented training text, or `load_word_vectors` for a published file. Both
return (vocab, matrix) with rows 0 [PAD] and 1 [UNK] all zeros (the post gives out-of-vocabulary words a zero
vector too), the vocabulary `encode` maps words with.
"""
from __future__ import annotations

import json
import pickle
import re
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core.batching import RowView, round_up
from .data import QADataError

PAD, UNK = 0, 1
SPECIALS = ["[PAD]", "[UNK]"]


def segment(text: str) -> list[str]:
    """jieba words, dictionary only (HMM=False, as the post: no guessed new words). Their concatenation is the
    text, whitespace included."""
    import jieba
    return jieba.lcut(text, HMM=False)


def make_segmenter(words=()):
    """A segmenter that also knows `words` (typically the word-vector vocabulary), so text is cut into words
    that have vectors, as the post adds them to jieba. It uses its own jieba.Tokenizer: the global one stays as
    it is."""
    import jieba
    tok = jieba.Tokenizer()
    tok.initialize()
    for w in words:
        if w not in tok.FREQ and w not in SPECIALS and w.strip():
            tok.add_word(w)
    return lambda text: tok.lcut(text, HMM=False)


def build_char_vocab(entries, min_count: int = 16) -> list[str]:
    """[PAD], [UNK], then every character of the questions and passages seen at least min_count times, most
    frequent first (ties by code point, so the ids do not depend on the file order)."""
    counts = Counter()
    for e in entries:
        counts.update(e["question"])
        for p in e["passages"]:
            counts.update(p["passage"])
    return SPECIALS + sorted((c for c, n in counts.items() if n >= min_count), key=lambda c: (-counts[c], c))


def sentences(entries, segment=segment) -> list[list[str]]:
    """Every question and passage, segmented: word2vec's training text."""
    return [segment(t) for e in entries for t in (e["question"], *(p["passage"] for p in e["passages"]))]


def _stable_hash(text: str) -> int:
    return zlib.crc32(text.encode("utf-8"))


def train_word2vec(tokenised_sentences, dim: int = 128, seed: int = 0, workers: int = 1, min_count: int = 5,
                   window: int = 5, epochs: int = 5) -> tuple[list[str], np.ndarray]:
    """gensim Word2Vec (its defaults: CBOW, negative sampling) on lists of words -> (vocab, matrix).

    Reproducible for a seed when workers=1: gensim 4 draws the initial vectors and the sampling from numpy
    generators seeded by `seed`, orders the vocabulary by count then first appearance, and a single worker
    consumes the batches in order (several interleave them by thread scheduling). Python's salted string hash
    could only enter through `hashfxn` (gensim 3 seeded each word's vector with it); it gets a CRC32 here, so
    PYTHONHASHSEED does not matter."""
    from gensim.models import Word2Vec
    if workers != 1:
        import warnings
        warnings.warn(f"train_word2vec(workers={workers}): the vectors change from run to run; workers=1 is "
                      f"reproducible", stacklevel=2)
    model = Word2Vec(sentences=tokenised_sentences, vector_size=dim, seed=seed, workers=workers,
                     min_count=min_count, window=window, epochs=epochs, hashfxn=_stable_hash)
    return _with_specials(list(model.wv.index_to_key), model.wv.vectors)


def load_word_vectors(path, binary: bool | None = None, limit: int | None = None) -> tuple[list[str], np.ndarray]:
    """(vocab, matrix) from a word2vec file: text ('N DIM' then 'word v1 … vDIM' lines) or, for binary=True or a
    '.bin' name, the C tool's binary format; a gensim save ('.model' Word2Vec, '.kv' KeyedVectors, like the
    post's word2vec_baike) is read with gensim's loader. limit keeps the first (most frequent) words."""
    path = Path(path)
    if not path.is_file():
        raise QADataError(f"{path}: word-vector file not found")
    binary = path.suffix == ".bin" if binary is None else binary
    try:
        if path.suffix in (".model", ".kv"):
            from gensim.utils import SaveLoad
            kv = SaveLoad.load(str(path))
            kv = getattr(kv, "wv", kv)
        else:
            from gensim.models import KeyedVectors
            kv = KeyedVectors.load_word2vec_format(str(path), binary=binary, limit=limit)
    except (ValueError, IndexError, EOFError, UnicodeDecodeError, KeyError, AttributeError, OSError,
            pickle.UnpicklingError) as e:
        kind = "gensim save" if path.suffix in (".model", ".kv") else "binary" if binary else "text"
        raise QADataError(f"{path}: not a readable word2vec {kind} file ({type(e).__name__}: {e}); text files "
                          f"start with a 'count dimension' line; binary=True reads the C tool's binary files") from None
    words = list(kv.index_to_key)[:limit]
    if not words:
        raise QADataError(f"{path}: no word vectors in the file")
    if holes := [i for i, w in enumerate(words) if not isinstance(w, str)]:   # gensim's slot for a repeated word
        raise QADataError(f"{path}: {len(holes)} word{'s are' if len(holes) > 1 else ' is'} listed twice (the first repeat is vector {holes[0] + 1}); "
                          f"each word needs one vector: remove the repeats")
    vectors = np.asarray(kv.vectors[:len(words)])
    if not np.isfinite(vectors).all():
        bad = int(np.flatnonzero(~np.isfinite(vectors).all(1))[0])
        raise QADataError(f"{path}: the vector of word {words[bad]!r} (vector {bad + 1}) holds nan or inf; fix the "
                          f"file, or drop the word")
    return _with_specials(words, vectors)


def _with_specials(words: list[str], vectors: np.ndarray) -> tuple[list[str], np.ndarray]:
    keep = [i for i, w in enumerate(words) if w not in SPECIALS]    # a file's own '[UNK]' would shadow ours
    matrix = np.zeros((len(keep) + 2, vectors.shape[1]), np.float32)
    matrix[2:] = vectors[keep]
    return SPECIALS + [words[i] for i in keep], matrix


@dataclass
class Encoded:
    """A split, ragged. Question k's characters are q_chars[q_off[k]:q_off[k+1]] (q_words alike); row i is
    question row_q[i] with passage row_passage[i] of that entry, whose characters are p_chars[p_off[i]:
    p_off[i+1]]. Labels, when present: start/end (int8, aligned with p_chars) and has_answer per row."""
    qid: np.ndarray
    q_chars: np.ndarray
    q_words: np.ndarray
    q_off: np.ndarray
    p_chars: np.ndarray
    p_words: np.ndarray
    p_off: np.ndarray
    row_q: np.ndarray
    row_passage: np.ndarray
    row_offset: np.ndarray
    q_max: int
    p_max: int
    labels: dict = field(default_factory=dict)
    stats: dict = field(default_factory=dict)

    ARRAYS = ("qid", "q_chars", "q_words", "q_off", "p_chars", "p_words", "p_off", "row_q", "row_passage",
              "row_offset")

    def __len__(self):
        return len(self.row_q)

    def row(self, i: int) -> dict:
        q, p = slice(*self.q_off[self.row_q[i]:self.row_q[i] + 2]), slice(*self.p_off[i:i + 2])
        out = {"q_chars": self.q_chars[q], "q_words": self.q_words[q], "p_chars": self.p_chars[p],
               "p_words": self.p_words[p]}
        if self.labels:
            out.update(start=self.labels["start"][p], end=self.labels["end"][p],
                       has_answer=self.labels["has_answer"][i])
        return out

    def take(self, idx) -> RowView:
        return RowView(self, idx)

    def row_text(self, entries, i: int) -> str:
        """The passage text row i encodes (its window), from the entries it was encoded from."""
        text = entries[int(self.row_q[i])]["passages"][int(self.row_passage[i])]["passage"]
        off = int(self.row_offset[i])
        return text[off:off + self.p_max]

    def save(self, path) -> None:
        from ..core import io
        arrays = {k: getattr(self, k) for k in self.ARRAYS}
        arrays.update({f"label_{k}": v for k, v in self.labels.items()})
        arrays["maxima"] = np.array([self.q_max, self.p_max])
        arrays["stats"] = np.array(json.dumps(self.stats))
        with io.atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, **arrays)

    @classmethod
    def load(cls, path) -> Encoded:
        with np.load(path) as z:
            q_max, p_max = (int(v) for v in z["maxima"])
            arrays = {k: z[k] for k in cls.ARRAYS if k in z.files}
            arrays.setdefault("row_offset", np.zeros(len(arrays["row_q"]), np.int32))   # before windows
            return cls(**arrays, q_max=q_max, p_max=p_max,
                       labels={k[6:]: z[k] for k in z.files if k.startswith("label_")},
                       stats=json.loads(str(z["stats"])))


def _ids(text: str, segment, char2id: dict, word2id: dict) -> tuple[list[int], list[int]]:
    words = segment(text)
    if "".join(words) != text:
        raise ValueError(f"the segmenter dropped or changed characters of {text[:40]!r}")
    return [char2id.get(c, UNK) for c in text], [i for w in words for i in [word2id.get(w, UNK)] * len(w)]


def window_offsets(n: int, p_max: int, p_stride: int | None) -> list[int]:
    """First characters of the windows of a passage of n characters: [0] when it fits (or p_stride is None:
    cut), else every p_stride characters, the last window ending on the passage's last character."""
    if not p_stride or n <= p_max:
        return [0]
    if not 0 < p_stride <= p_max:
        raise ValueError(f"p_stride must be in 1..p_max ({p_max}), not {p_stride}: windows would skip text")
    return [*range(0, n - p_max, p_stride), n - p_max]


def encode(entries, chars: list[str], words: list[str], segment=segment, q_max: int = 64, p_max: int = 256,
           p_stride: int | None = None, with_labels: bool = True, progress: bool = False) -> Encoded:
    """Encode every (question, passage window) pair of entries. chars and words are vocabularies (index = id,
    [PAD] and [UNK] first): build_char_vocab, and the vocab of train_word2vec or load_word_vectors. with_labels
    needs every passage's answer (None marks a test passage: encode those with with_labels=False)."""
    from tqdm import tqdm
    char2id = {c: i for i, c in enumerate(chars)}
    word2id = {w: i for i, w in enumerate(words)}
    qid, qc, qw, q_off, pc, pw, p_off, row_q, row_p, row_off = [], [], [], [0], [], [], [0], [], [], []
    starts, ends, has = [], [], []
    stats = Counter(questions=0, rows=0, with_answer=0, occurrences=0, questions_truncated=0,
                    passages_truncated=0, passages_windowed=0, answers_cut=0, occurrences_cut=0, not_verbatim=0)
    for e in tqdm(entries, desc="encode", unit="q", disable=not progress, mininterval=2):
        if with_labels and any(p.get("answer") is None for p in e["passages"]):
            raise QADataError(f"entry {e['id']!r}: a passage has no answer field; encode test files with "
                              f"with_labels=False")
        stats["questions_truncated"] += len(e["question"]) > q_max
        c, w = _ids(e["question"][:q_max], segment, char2id, word2id)
        qc += c
        qw += w
        q_off.append(len(qc))
        qid.append(e["id"])
        for k, p in enumerate(e["passages"]):
            text = p["passage"]
            offsets = window_offsets(len(text), p_max, p_stride)
            stats["passages_truncated"] += len(offsets) == 1 and len(text) > p_max
            stats["passages_windowed"] += len(offsets) > 1
            labels = _labels(text, p["answer"], offsets, p_max, stats) if with_labels else None
            for i, off in enumerate(offsets):
                c, w = _ids(text[off:off + p_max], segment, char2id, word2id)
                pc += c
                pw += w
                p_off.append(len(pc))
                row_q.append(len(qid) - 1)
                row_p.append(k)
                row_off.append(off)
                if labels:
                    s, t = labels[i]
                    starts += s
                    ends += t
                    has.append(int(any(s)))
    stats.update(questions=len(qid), rows=len(row_q), with_answer=sum(has))
    enc = Encoded(np.asarray(qid, str), np.asarray(qc, np.int32), np.asarray(qw, np.int32),
                  np.asarray(q_off, np.int64), np.asarray(pc, np.int32), np.asarray(pw, np.int32),
                  np.asarray(p_off, np.int64), np.asarray(row_q, np.int32), np.asarray(row_p, np.int32),
                  np.asarray(row_off, np.int32), q_max=q_max, p_max=p_max, stats=dict(stats))
    if with_labels:
        enc.labels = {"start": np.asarray(starts, np.int8), "end": np.asarray(ends, np.int8),
                      "has_answer": np.asarray(has, np.int8)}
    return enc


def _labels(passage: str, answer: str, offsets: list[int], p_max: int, stats: Counter) -> list[tuple]:
    """(start, end) 0/1 lists for each window of the passage; stats count per passage."""
    windows = [min(len(passage) - off, p_max) for off in offsets]
    out = [([0] * n, [0] * n) for n in windows]
    if not answer:
        return out
    found = [m.start() for m in re.finditer(re.escape(answer), passage)]
    kept = set()
    for (start, end), off, n in zip(out, offsets, windows):
        for f in found:
            if off <= f and f + len(answer) <= off + n:
                start[f - off], end[f - off + len(answer) - 1] = 1, 1
                kept.add(f)
    stats["occurrences"] += len(kept)
    stats["occurrences_cut"] += len(found) - len(kept)
    stats["not_verbatim"] += not found
    stats["answers_cut"] += bool(found) and not kept
    return out


def pad_batch(rows: list[dict], multiple: int = 8):
    """(x, y): x {q_chars, q_words, p_chars, p_words} int32, 0-padded to the batch's longest question and
    passage rounded up to `multiple` (a few shapes cover all batches: fewer retraces); y {start, end} float32
    (batch, passage length) and has_answer float32 (batch,), or None when the rows carry no labels."""
    b = len(rows)
    Q, P = (round_up(max(len(r[k]) for r in rows), multiple) for k in ("q_chars", "p_chars"))
    x = {k: np.zeros((b, Q if k[0] == "q" else P), np.int32) for k in ("q_chars", "q_words", "p_chars", "p_words")}
    labelled = "start" in rows[0]
    y = {"start": np.zeros((b, P), np.float32), "end": np.zeros((b, P), np.float32),
         "has_answer": np.zeros(b, np.float32)} if labelled else None
    for i, r in enumerate(rows):
        for k, a in x.items():
            a[i, :len(r[k])] = r[k]
        if labelled:
            n = len(r["start"])
            y["start"][i, :n], y["end"][i, :n], y["has_answer"][i] = r["start"], r["end"], r["has_answer"]
    return x, y
