"""BERT vocabularies and a tokenizer that keeps exact character offsets.

Two modes share one vocabulary format:

- ``char``: one token per visible character, the scheme of Su Jianlin's NL2SQL baseline for
  Chinese BERT. Condition values are located in the question by character, so a token must
  never swallow or split a character, and full-width "？" must stay distinct from "?".
- ``wordpiece``: Google/Hugging Face BERT (BasicTokenizer + greedy WordPiece), for English
  checkpoints. Lower-casing and accent stripping are applied per character so that every
  piece still maps back to a span of the original text.
"""
from __future__ import annotations

import functools
import os
import unicodedata
from pathlib import Path

from ..core.io import read_json

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]")
MODES = ("char", "wordpiece")
MAX_CHARS_PER_WORD = 100  # Hugging Face's limit; Google's tokenization.py used 200


def load_vocab(path) -> list[str]:
    """The tokens of a BERT vocab.txt, id = line number."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"vocabulary file {path} not found: a BERT model directory needs vocab.txt "
                                f"(one token per line, line number = token id)")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ValueError(f"{path} is not UTF-8 text (bad byte at offset {e.start}); "
                         f"is it really a BERT vocab.txt?") from None
    # split on "\n" only: str.splitlines() would also break on U+2028, a real token (line 344
    # of the Chinese BERT vocab), and shift every later id by one.
    vocab = [t.removesuffix("\r") for t in text.split("\n")]
    if vocab and vocab[-1] == "":
        vocab.pop()
    _check_specials(vocab, path)
    return vocab


def _check_specials(vocab: list[str], source) -> None:
    missing = [t for t in SPECIAL_TOKENS if t not in set(vocab)]
    if missing:
        raise ValueError(f"vocabulary {source} lacks the special token(s) {', '.join(missing)} "
                         f"({len(vocab)} entries, first: {vocab[:5]}); BERT needs all of {', '.join(SPECIAL_TOKENS)}. "
                         f"Use the vocab.txt that shipped with the checkpoint.")


# ---------------------------------------------------------------- character classes (as BERT's tokenization.py)

def _is_cjk(cp: int) -> bool:
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def _is_punct(ch: str) -> bool:
    cp = ord(ch)
    # BERT counts every non-alphanumeric ASCII symbol ("^", "$", "`") as punctuation too
    return 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126 \
        or unicodedata.category(ch).startswith("P")


def _is_space(ch: str) -> bool:
    return ch.isspace() or unicodedata.category(ch) == "Zs"


def _is_invisible(ch: str) -> bool:
    """Characters BERT's clean_text deletes outright (NUL, U+FFFD, control and format chars)."""
    return ch in "\x00\ufffd" or (unicodedata.category(ch).startswith("C") and ch not in "\t\n\r")


@functools.lru_cache(maxsize=65536)
def _fold(ch: str) -> str:
    """Lower-case and strip accents (NFD, drop Mn); may return "" or several characters."""
    return "".join(c for c in unicodedata.normalize("NFD", ch.lower()) if unicodedata.category(c) != "Mn")


# ---------------------------------------------------------------- tokenizer

class Tokenizer:
    """`tokenize(text) -> (ids, spans)` with `text[s:e]` the original characters of each token."""

    def __init__(self, vocab: list[str] | str | os.PathLike, mode: str = "char", lowercase: bool = False):
        if mode not in MODES:
            raise ValueError(f"unknown tokenizer mode {mode!r}; use 'char' (Chinese BERT) or 'wordpiece' (English BERT)")
        if isinstance(vocab, (str, os.PathLike)):
            vocab = load_vocab(vocab)
        else:
            vocab = list(vocab)
            _check_specials(vocab, "given as a list")
        self.vocab, self.mode, self.lowercase = vocab, mode, bool(lowercase)
        self.token_to_id = {t: i for i, t in enumerate(vocab)}  # a duplicated token keeps its last id, as in HF
        self.pad_id, self.unk_id, self.cls_id, self.sep_id = (self.token_to_id[t] for t in SPECIAL_TOKENS)

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def __repr__(self):
        return f"Tokenizer(vocab_size={self.vocab_size}, mode={self.mode!r}, lowercase={self.lowercase})"

    @classmethod
    def from_dir(cls, path, mode: str | None = None, lowercase: bool | None = None) -> Tokenizer:
        """The tokenizer of a model directory's vocab.txt; mode and lowercase guessed unless given.

        lowercase: `do_lower_case` of tokenizer_config.json if present, else whether the vocab has
        (almost) no upper-case tokens. mode: "char" when most entries are single CJK characters.
        """
        path = Path(path)
        vocab = load_vocab(path / "vocab.txt" if path.is_dir() else path)
        if mode in (None, "auto"):
            mode = guess_mode(vocab)
        if lowercase in (None, "auto"):
            config = path / "tokenizer_config.json"
            lowercase = read_json(config).get("do_lower_case") if config.is_file() else None
            if lowercase is None:
                lowercase = guess_lowercase(vocab)
        return cls(vocab, mode=mode, lowercase=lowercase)

    def ids_to_tokens(self, ids) -> list[str]:
        return [self.vocab[int(i)] for i in ids]

    def tokenize(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        return self._char(text) if self.mode == "char" else self._wordpiece(text)

    def _char(self, text):
        ids, spans, get = [], [], self.token_to_id.get
        for i, ch in enumerate(text):
            if _is_space(ch) or _is_invisible(ch):
                continue
            t = get(ch)
            if t is None and self.lowercase:
                t = get(ch.lower())
            ids.append(self.unk_id if t is None else t)
            spans.append((i, i + 1))
        return ids, spans

    def _words(self, text):
        """BasicTokenizer words as (normalised chars, original index of each char)."""
        words, chars, pos = [], [], []

        def flush():
            if chars:
                words.append(("".join(chars), pos.copy()))
                chars.clear(), pos.clear()

        for i, ch in enumerate(text):
            if _is_invisible(ch):
                continue  # deleted, not a word boundary: "a\u200bb" is "ab" in BERT
            if _is_space(ch):
                flush()
            elif _is_cjk(ord(ch)):
                flush()
                words.append((ch, [i]))
            else:
                for c in (_fold(ch) if self.lowercase else ch):
                    if _is_punct(c):
                        flush()
                        words.append((c, [i]))
                    else:
                        chars.append(c), pos.append(i)
        flush()
        return words

    def _wordpiece(self, text):
        ids, spans, get = [], [], self.token_to_id.get
        for word, pos in self._words(text):
            pieces, start = [], 0
            if len(word) <= MAX_CHARS_PER_WORD:
                while start < len(word):
                    for end in range(len(word), start, -1):  # greedy longest match first
                        t = get(word[start:end] if start == 0 else "##" + word[start:end])
                        if t is not None:
                            pieces.append((t, pos[start], pos[end - 1] + 1))
                            start = end
                            break
                    else:
                        break
            if start < len(word) or not pieces:  # one [UNK] for the whole word, as BERT does
                pieces = [(self.unk_id, pos[0], pos[-1] + 1)]
            for t, s, e in pieces:
                ids.append(t)
                spans.append((s, e))
        return ids, spans


def guess_mode(vocab: list[str]) -> str:
    """"char" for a Chinese vocab: ~70% single CJK characters (with or without "##") vs ~2% in English ones."""
    cjk = sum(1 for t in vocab if len(t.removeprefix("##")) == 1 and _is_cjk(ord(t[-1])))
    return "char" if cjk > 0.3 * len(vocab) else "wordpiece"


def guess_lowercase(vocab: list[str]) -> bool:
    """An uncased vocab has no upper-case tokens apart from markers such as [CLS] or <S>."""
    cased = sum(1 for t in vocab if t[:1] not in "[<" and any(c.isupper() for c in t))
    return cased < 0.01 * len(vocab)
