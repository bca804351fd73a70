"""Reading and validating reading-comprehension files into one in-memory form.

Every source becomes a list of entries
    {"id": str, "question": str, "passages": [{"passage": str, "answer": str | None}, ...]}
where answer "" says the passage holds no answer and None that the file does not say (test files). SQuAD-style
sources also carry "answers" (every annotator's text, for the metric) and the passage's "answer_start".

The DGCNN answer rule (read_dgcnn): a non-empty answer is a substring of its passage, or else each of its
space-separated parts is (a multi-entity answer such as '巴西 俄罗斯 印度 中国 南非' over a passage that lists them
differently). Every answer in the real WebQA/SogouQA files is a plain substring; their multi-entity answers are
written with the same spaces in the passage. A blank answer ('  ') is an error: '' is how the format says "none".

Problems raise QADataError naming the file, the entry (its 0-based index in the array, id and line) and the
field, e.g.
    data/raw/qa/train.json:812: entry 37 (id '10037'): field 'passages[4].answer': '黑海' is not in the passage ...
Integer ids are read as strings, so they match the qids of Sogou's tab-separated files. The readers return
Entries, a list whose `note` (None or one line to print) says what was skipped or repaired.

The end of the module reads what preprocess wrote (load_entries) for every stage after it.
"""
from __future__ import annotations

import json
import re
from functools import partial
from pathlib import Path

from ..core import io

REQUIRED = ("id", "question", "passages")
_decoder = json.JSONDecoder(object_pairs_hook=io.unique_keys)
_WS = re.compile(r"[ \t\n\r]*")


class QADataError(ValueError):
    pass


class Entries(list):
    """A list of entries. `note` is None, or a line the caller should print: what on_truncated='skip' dropped,
    which answer offsets were repaired. `dropped` lists the entries on_truncated='skip' dropped as
    {"entry", "id" (None when the cut left it unreadable), "where"}, so a submission can name them."""
    note: str | None = None
    dropped: tuple | list = ()


def _show(s: str, n: int = 60) -> str:
    return repr(s if len(s) <= n else s[:n] + "…")


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise QADataError(f"{path}: file not found") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        if e.end == len(raw) and e.reason == "unexpected end of data":
            return raw[:e.start].decode("utf-8-sig")      # cut inside a character: the truncation check reports it
        raise QADataError(f"{path}: not UTF-8 at byte {e.start} ({e.reason}); the files are UTF-8 JSON") from None


def _position(text: str, pos: int) -> str:
    return f"line {text.count(chr(10), 0, pos) + 1}, byte {len(text[:pos].encode('utf-8'))}"


_ID = re.compile(r'"id"\s*:\s*("(?:[^"\\]|\\.)*"|-?\d+(?=\s*[,}]))')      # a number cut short does not count


def _cut_id(text: str, pos: int) -> str | None:
    """The id of the entry cut off at `pos` (the file's last), when the cut left its "id" field readable."""
    m = _ID.search(text, pos)
    return str(json.loads(m.group(1))) if m else None


def _where(path, text: str, pos: int, index: int, qid) -> str:
    """An entry's location; called only on error, as counting lines is linear in the file."""
    return f"{path}:{text.count(chr(10), 0, pos) + 1}: entry {index} ({'no id' if qid is None else f'id {str(qid)!r}'})"


class _Cut(Exception):
    def __init__(self, index: int, pos: int, why: str):
        self.index, self.pos, self.why = index, pos, why


def _elements(text: str, path: Path):
    """(index, char offset, object) for each element of the top-level array, decoded one at a time so a cut file
    still yields its complete entries before _Cut is raised."""
    pos = _WS.match(text).end()
    if not text.startswith("[", pos):
        found = "nothing (empty file)" if pos == len(text) else _show(text[pos:pos + 40])
        raise QADataError(f"{path}: expected a JSON array of entries [{{id, question, passages}}, ...], found {found}")
    pos = _WS.match(text, pos + 1).end()
    index = 0
    if text.startswith("]", pos):
        end = pos
    else:
        while True:
            if pos >= len(text):
                raise _Cut(index, pos, f"the file ends where entry {index} should start")
            try:
                obj, end = _decoder.raw_decode(text, pos)
            except json.JSONDecodeError as e:
                # an unterminated string runs to the end of the file (JSON strings hold no raw line breaks)
                if e.msg.startswith("Unterminated string") or e.pos >= len(text.rstrip()):
                    raise _Cut(index, pos, f"entry {index} is cut off ({e.msg} at the end of the file)") from None
                raise QADataError(f"{path}:{e.lineno}: entry {index}: malformed JSON at column {e.colno}: "
                                  f"{e.msg}") from None
            except (ValueError, RecursionError) as e:  # a number of > 4300 digits, arrays nested past the stack
                raise QADataError(f"{path}: {_position(text, pos)}: entry {index}: unreadable JSON value "
                                  f"({type(e).__name__}: {str(e)[:80]})") from None
            if (bad := io.unencodable(obj, text[pos:end])) is not None:
                raise QADataError(f"{path}: {_position(text, pos)}: entry {index}: {bad}")
            yield index, pos, obj
            index += 1
            pos = _WS.match(text, end).end()
            if text.startswith(",", pos):
                pos = _WS.match(text, pos + 1).end()
            elif text.startswith("]", pos):
                end = pos
                break
            elif pos >= len(text):
                raise _Cut(index, pos, f"the array is not closed after entry {index - 1}")
            else:
                raise QADataError(f"{path}: {_position(text, pos)}: expected ',' or ']' after entry {index - 1}, "
                                  f"found {_show(text[pos:pos + 40])}")
    if text[end + 1:].strip():
        raise QADataError(f"{path}: {_position(text, end + 1)}: text after the array's closing ']'")


def answer_in_passage(answer: str, passage: str) -> bool:
    """The DGCNN rule: the answer is a substring, or each of its space-separated parts is."""
    parts = answer.split()
    return answer in passage or bool(parts) and all(p in passage for p in parts)


def _check_entry(obj, where, labelled: bool) -> dict:
    if not isinstance(obj, dict):
        raise QADataError(f"{where()}: expected an object {{id, question, passages}}, got {type(obj).__name__}")
    for key in REQUIRED:
        if key not in obj:
            raise QADataError(f"{where()}: missing field '{key}' (has {', '.join(obj) or 'nothing'})")
    qid = obj["id"]
    if isinstance(qid, bool) or not isinstance(qid, (str, int)) or not str(qid).strip():
        raise QADataError(f"{where()}: field 'id' must be a non-empty string (or an integer), got {qid!r}")
    if str(qid) != str(qid).strip() or any(not c.isprintable() for c in str(qid)):
        raise QADataError(f"{where()}: field 'id' {str(qid)!r} has spaces at its ends or control characters (tabs, "
                          f"line breaks); the submission is tab-separated, one line a question")
    if not isinstance(obj["question"], str) or not obj["question"].strip():
        raise QADataError(f"{where()}: field 'question' must be a non-empty string, got {_show(str(obj['question']))}")
    passages = obj["passages"]
    if not isinstance(passages, list):
        raise QADataError(f"{where()}: field 'passages' must be a list of {{passage, answer}}, "
                          f"got {type(passages).__name__}")
    if not passages:
        raise QADataError(f"{where()}: field 'passages' is empty: a question needs at least one passage to be "
                          f"read in (remove the entry, or give it its passages)")
    out = []
    for k, p in enumerate(passages):
        field = f"passages[{k}]"
        if not isinstance(p, dict):
            raise QADataError(f"{where()}: field '{field}' must be an object {{passage, answer}}, got {_show(repr(p))}")
        if not isinstance(p.get("passage"), str):
            what = "missing" if "passage" not in p else f"must be a string, got {_show(repr(p['passage']))}"
            raise QADataError(f"{where()}: field '{field}.passage' {what}")
        answer = p.get("answer")
        if answer is None:
            if labelled:
                raise QADataError(f"{where()}: field '{field}.answer' missing in a labelled file (\"\" marks a "
                                  f"passage without the answer; read test files with labelled=False)")
        elif not isinstance(answer, str):
            raise QADataError(f"{where()}: field '{field}.answer' must be a string, got {_show(repr(answer))}")
        elif answer and not answer.strip():
            raise QADataError(f"{where()}: field '{field}.answer' is blank ({answer!r}); use \"\" for no answer")
        elif answer and not answer_in_passage(answer, p["passage"]):
            rule = "nor are all its space-separated parts" if len(answer.split()) > 1 else "and it has no spaces"
            raise QADataError(f"{where()}: field '{field}.answer': {_show(answer)} is not in the passage ({rule}); "
                              f"passage {_show(p['passage'], 80)}")
        out.append({**p, "answer": answer})
    return {**obj, "id": str(qid), "passages": out}


def read_dgcnn(path, on_truncated: str = "error", labelled: bool = True) -> Entries:
    """Entries of a DGCNN-format file (one JSON array of {id, question, passages: [{passage, answer}]}).

    labelled=True needs an 'answer' in every passage; labelled=False (test files) lets it be absent (None).
    A truncated file, either cut inside an entry or, like the real WebQA_sample.json and SogouQA_sample.json,
    cut inside its last entry and closed again (that entry then lacks 'question' and 'id'), raises with
    on_truncated='error'; with 'skip' the complete entries come back and `.note` says what was dropped."""
    if on_truncated not in ("error", "skip"):
        raise ValueError(f"on_truncated must be 'error' or 'skip', got {on_truncated!r}")
    path = Path(path)
    text = _read_text(path)
    elements, cut = [], None
    try:
        for element in _elements(text, path):
            elements.append(element)        # noqa: PERF402 (a loop, so what came before a _Cut is kept)
    except _Cut as c:
        cut = c
    if cut is None and len(elements) > 1 and isinstance(elements[-1][2], dict):
        index, pos, last = elements[-1]
        missing, before = [k for k in REQUIRED if k not in last], elements[-2][2]
        if missing and isinstance(before, dict) and all(k in before for k in REQUIRED):
            elements.pop()
            cut = _Cut(index, pos, f"the last entry has no {' or '.join(map(repr, missing))}: the file was "
                                   f"cut inside it and closed again (if it was not, add the missing field)")
    out = Entries()
    if cut is not None:
        where = f"{path}: truncated at entry {cut.index} ({_position(text, cut.pos)})"
        if on_truncated == "error":
            raise QADataError(f"{where}: {cut.why}. The {len(elements)} entries before it are complete: read with "
                              f"on_truncated='skip' to use them and drop the cut one, or get a complete copy.")
        out.note = f"{where}: {cut.why}; kept the {len(elements)} complete entries, dropped entry {cut.index}"
        if text[cut.pos:].strip(" \t\r\n]"):          # some of the entry is there (not just a missing ']')
            out.dropped = [{"entry": cut.index, "id": _cut_id(text, cut.pos),
                            "where": f"{path}: {_position(text, cut.pos)}"}]
    first_seen: dict[str, int] = {}
    for index, pos, obj in elements:
        where = partial(_where, path, text, pos, index, obj.get("id") if isinstance(obj, dict) else None)
        entry = _check_entry(obj, where, labelled)
        if entry["id"] in first_seen:
            raise QADataError(f"{where()}: field 'id': duplicate id (first used by entry {first_seen[entry['id']]})")
        first_seen[entry["id"]] = index
        out.append(entry)
    return out


# ---------------------------------------------------------------- SQuAD-style files (CMRC 2018, DRCD)

def _t2s():
    try:
        import opencc
    except ImportError:
        raise QADataError("traditional=True converts with OpenCC, which is not installed: "
                          "pip install -r requirements.txt") from None
    return opencc.OpenCC("t2s").convert


def _locate(context: str, text: str, start) -> int | None:
    """Where `text` is in `context`: at `start` when it is there, else the occurrence nearest to it, else None."""
    if isinstance(start, int) and not isinstance(start, bool) and context.startswith(text, start) and start >= 0:
        return start
    hits = [m.start() for m in re.finditer(re.escape(text), context)] if text else []
    if not hits:
        return None
    return min(hits, key=lambda h: abs(h - start)) if isinstance(start, int) and start >= 0 else hits[0]


YES_NO = ("YES", "NO")


def read_squad(path, traditional: bool = False, unanswerable: bool = False, yes_no: bool = False) -> Entries:
    """One entry per SQuAD question (CMRC 2018, DRCD, DuReader-robust, XQuAD, CJRC): its context is the single
    passage, the answer the first annotator answer found in the context, with its `answer_start` (repaired to the
    nearest occurrence where the file's offset is off). "answers" keeps every annotator text, also those not in
    the context (CMRC dev has 193 such, start -1, mostly a trailing '。'), for the metric. A question without
    answers gets answer "". traditional=True converts context, question and answers to Simplified Chinese
    (OpenCC t2s) and re-checks that each answer's offset still points at it.
    The first annotator decides what kind of question it is (CJRC's three disagree on 207 questions):
      unanswerable=True  their "" answer (CJRC) makes the passage a negative: answer "", no gold for the
                         metric, the rows the presence gate learns "no answer here" from. False: skipped.
                         (A question with no answers at all, SQuAD 2.0's way, is a negative either way.)
      yes_no=True        their "YES"/"NO" at answer_start -1 (CJRC) is a verdict, not a span an extractive model
                         can point at: the question is skipped. False: "YES" is text to find in the context.
    The other annotators' "" and verdicts never become alternatives. `.note` counts repairs and skips."""
    path = Path(path)
    data = io.loads_checked(_read_text(path), str(path), QADataError, unique=False)   # SQuAD files as they are
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise QADataError(f"{path}: expected SQuAD JSON {{\"data\": [{{\"paragraphs\": [{{\"context\", \"qas\"}}]}}]}}")
    convert = _t2s() if traditional else None
    out, first_seen, repaired, outside, blank = Entries(), {}, 0, 0, []
    skipped = {"unanswerable": 0, "yes/no": 0, "empty answer": 0}
    verdict = lambda ans: yes_no and ans.get("text") in YES_NO and ans.get("answer_start") == -1

    def need(obj, key, kind, field, where):
        if not isinstance(obj, dict) or key not in obj:
            raise QADataError(f"{where}: missing field '{field}.{key}'")
        if isinstance(obj[key], bool) or not isinstance(obj[key], kind):
            kind_name = {str: "a string", list: "a list"}.get(kind, "a string or an integer")
            raise QADataError(f"{where}: field '{field}.{key}' must be {kind_name}, got {_show(repr(obj[key]))}")
        return obj[key]

    for a, article in enumerate(data["data"]):
        for p, para in enumerate(need(article, "paragraphs", list, f"data[{a}]", f"{path}: article {a}")):
            field = f"data[{a}].paragraphs[{p}]"
            context = need(para, "context", str, field, f"{path}: {field}")
            simple = convert(context) if convert else context
            for q, qa in enumerate(need(para, "qas", list, field, f"{path}: {field}")):
                field_q, n = f"{field}.qas[{q}]", len(out)
                qid = need(qa, "id", (str, int), field_q, f"{path}: entry {n}")
                where = f"{path}: entry {n} (id {str(qid)!r})"
                question = need(qa, "question", str, field_q, where)
                if not question.strip():         # CMRC 2018 trial has one (TRIAL_776_QUERY_4): skipped, counted
                    blank.append(str(qid))
                    continue
                texts, answer, answer_start = [], "", -1
                given_answers = need(qa, "answers", list, field_q, where)
                first = given_answers[0] if given_answers and isinstance(given_answers[0], dict) else {}
                if verdict(first):
                    skipped["yes/no"] += 1
                    continue
                if first.get("text") == "" and not unanswerable:
                    skipped["empty answer"] += 1
                    continue
                negative = first.get("text") == ""
                for k, ans in enumerate(given_answers):
                    text = need(ans, "text", str, f"{field_q}.answers[{k}]", where)
                    if negative or text == "" or verdict(ans):
                        continue                 # a negative has no gold; "" and verdicts are no alternatives
                    given = ans.get("answer_start")
                    start = _locate(context, text, given)
                    outside += start is None
                    repaired += start is not None and start != given
                    if convert:
                        converted = convert(text)
                        new_start = _locate(simple, converted, start)
                        if new_start is None and start is not None and len(simple) == len(context):
                            # converted alone it reads differently than inside the context: keep the context's reading
                            converted, new_start = simple[start:start + len(text)], start
                        if new_start is None and start is not None:
                            raise QADataError(f"{where}: field '{field_q}.answers[{k}].text': {_show(text)} is in the "
                                              f"context but its Simplified form {_show(converted)} is not in the "
                                              f"converted context")
                        text, start = converted, new_start
                    texts.append(text)
                    if start is not None and not answer:
                        answer, answer_start = text, start
                skipped["unanswerable"] += negative
                if texts and not answer:
                    hint = ("; a YES/NO verdict (CJRC): read the file with yes_no: true"
                            if set(texts) & set(YES_NO) else "")
                    raise QADataError(f"{where}: field '{field_q}.answers': none of the {len(texts)} answers "
                                      f"({', '.join(map(_show, texts))}) occurs in the context{hint}")
                if str(qid) in first_seen:
                    raise QADataError(f"{where}: field '{field_q}.id': duplicate id (first used by entry "
                                      f"{first_seen[str(qid)]})")
                first_seen[str(qid)] = n
                out.append({"id": str(qid), "question": convert(question) if convert else question,
                            "passages": [{"passage": simple, "answer": answer, "answer_start": answer_start}],
                            "answers": texts})
    if repaired or outside or blank or any(skipped.values()):
        out.note = (f"{path}: {len(out)} questions; {repaired} answer offsets did not point at their text and were "
                    f"moved to its nearest occurrence; {outside} annotator answers are not in their context (kept "
                    f"in 'answers' for the metric only)"
                    + (f"; {len(blank)} questions with a blank question text skipped (ids {', '.join(blank[:5])})"
                       if blank else "")
                    + (f"; {skipped['unanswerable']} unanswerable questions kept as negative passages"
                       if skipped["unanswerable"] else "")
                    + (f"; {skipped['yes/no']} YES/NO questions skipped (a verdict is not a span)"
                       if skipped["yes/no"] else "")
                    + (f"; {skipped['empty answer']} questions whose first answer is empty skipped (set "
                       f"unanswerable: true to keep them as negatives)" if skipped["empty answer"] else ""))
    return out


# ---------------------------------------------------------------- Sogou's tab-separated files

def _lines(path: Path, text: str | None = None):
    """(line number, line) for each non-blank line, '\\r' dropped. Splits on '\\n' only (answers may hold U+2028).
    `text`: the content when it is not on disk (yet); `path` then only names it."""
    for n, line in enumerate((_read_text(path) if text is None else text).split("\n"), 1):
        line = line.rstrip("\r")
        if line.strip():
            yield n, line


def read_answer_expand(path) -> dict[str, dict]:
    """{qid: {"standard": str, "alternatives": [str, ...]}} from Sogou's `qid_answer_expand`
    (`qid<TAB>standard answer<TAB>alt1|alt2…`). Answers keep their spaces; empty alternatives are dropped
    (the real file has one, a leading '|', which would make an empty prediction correct)."""
    path, out, first_line = Path(path), {}, {}
    for n, line in _lines(path):
        fields = line.split("\t")
        if len(fields) != 3:
            raise QADataError(f"{path}:{n}: expected 3 tab-separated fields (qid, standard answer, "
                              f"alternatives joined by '|'), got {len(fields)}: {_show(line)}")
        qid, standard, alternatives = fields[0].strip(), fields[1], fields[2]
        if not qid:
            raise QADataError(f"{path}:{n}: field 'qid' is empty")
        if qid in out:
            raise QADataError(f"{path}:{n}: qid {qid!r}: duplicate (first at line {first_line[qid]})")
        first_line[qid] = n
        out[qid] = {"standard": standard, "alternatives": [a for a in alternatives.split("|") if a]}
    return out


def read_submission(path, text: str | None = None) -> dict[str, str]:
    """{id: answer} from `id<TAB>answer` lines (a submission, or Sogou's `test_input`), in file order; from
    `text` when given (a submission checked before it is written; `path` then only names it)."""
    path, out, first_line = Path(path), {}, {}
    for n, line in _lines(path, text):
        fields = line.split("\t")
        if len(fields) != 2:
            raise QADataError(f"{path}:{n}: expected 'id<TAB>answer' (one tab), got {len(fields) - 1} tabs: "
                              f"{_show(line)}")
        qid = fields[0].strip()
        if not qid:
            raise QADataError(f"{path}:{n}: field 'id' is empty")
        if qid in out:
            raise QADataError(f"{path}:{n}: id {qid!r}: duplicate (first at line {first_line[qid]})")
        first_line[qid] = n
        out[qid] = fields[1]
    return out


# ---------------------------------------------------------------- the prepared data, read by every later stage

def say(message: str) -> None:
    print(f"[qa] {message}", flush=True)


def load_entries(processed_dir, split: str) -> list[dict]:
    return io.read_json(Path(processed_dir) / f"{split}.json")


