"""Submission checks shared by every competition: validate first, then write atomically."""
from __future__ import annotations

import csv
import io as _io
from collections import Counter
from pathlib import Path

from . import io


class SubmissionError(ValueError):
    pass


def compare_ids(expected_ids, submitted_ids) -> tuple[list, list, list]:
    """(duplicated, missing, extra): submitted ids given more than once, expected ids not submitted, submitted
    ids not expected, each in input order. Linear: one Counter and one set, so 200,000 test ids take no time."""
    counts = Counter(submitted_ids)
    expected = set(expected_ids)
    dupes = [i for i, c in counts.items() if c > 1]
    missing = [i for i in expected_ids if i not in counts]
    extra = [i for i in counts if i not in expected]
    return dupes, missing, extra


def _problems(dupes, missing, extra) -> list[str]:
    return ([f"{len(dupes)} duplicated ids (e.g. {dupes[:3]})"] if dupes else []) + \
        ([f"{len(missing)} test ids missing (e.g. {missing[:3]})"] if missing else []) + \
        ([f"{len(extra)} ids not in the test set (e.g. {extra[:3]})"] if extra else [])


def check_ids(expected_ids, submitted_ids, what: str = "submission") -> None:
    """Every expected id exactly once, nothing else."""
    problems = _problems(*compare_ids(expected_ids, submitted_ids))
    if problems:
        raise SubmissionError(f"{what}: " + "; ".join(problems))


def missing_predictions(expected_ids, predicted_ids, what: str, *, fill: bool, fix: str,
                        why: dict | None = None, show: int = 5) -> list:
    """The test ids (of the test index, not of the predictions) that have no prediction, in test-index order.
    Without `fill` they stop the stage: a SubmissionError naming the first `show` of them, why each is missing
    (`why`: {id: reason}), how many there are and `fix`, what to do. Predicted ids given twice or not in the
    test index are refused either way."""
    dupes, missing, extra = compare_ids(expected_ids, predicted_ids)
    if dupes or extra:
        raise SubmissionError(f"{what}: the predictions have " + "; ".join(_problems(dupes, [], extra)))
    if missing and not fill:
        why = why or {}
        named = ", ".join(f"{i!r}" + (f" ({why[i]})" if i in why else "") for i in missing[:show])
        more = f", and {len(missing) - show} more" if len(missing) > show else ""
        raise SubmissionError(f"{what}: {len(missing)} of the {len(expected_ids)} test ids have no prediction: "
                              f"{named}{more}. {fix}")
    return missing


def filled_list_path(submission) -> Path:
    """Beside the submission, named after it; no .csv/.txt/.json ending, so a glob for submissions skips it."""
    return Path(submission).with_name(Path(submission).name + ".filled")


def record_filled(submission, rows: list[tuple[str, str, str]]) -> Path | None:
    """Write the (id, filled_with, why) rows of the ids a fallback filled beside the submission, or remove a
    list left by an earlier submission when nothing was filled: the list always describes the file beside it."""
    path = filled_list_path(submission)
    if not rows:
        path.unlink(missing_ok=True)
        return None
    buf = _io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["id", "filled_with", "why"])
    writer.writerows(rows)
    io.write_text(path, buf.getvalue())
    return path


def check_labels(labels, allowed, what: str = "submission") -> None:
    bad = sorted({str(x) for x in labels} - {str(a) for a in allowed})
    if bad:
        raise SubmissionError(f"{what}: unknown labels {bad}; allowed: {sorted(map(str, allowed))}")
