"""Submission checks shared by every competition: validate first, then write atomically."""
from __future__ import annotations

from collections import Counter


class SubmissionError(ValueError):
    pass


def check_ids(expected_ids, submitted_ids, what: str = "submission") -> None:
    """Every expected id exactly once, nothing else."""
    counts = Counter(submitted_ids)
    dupes = [i for i, c in counts.items() if c > 1]
    missing = [i for i in expected_ids if i not in counts]
    extra = [i for i in counts if i not in set(expected_ids)]
    problems = []
    if dupes:
        problems.append(f"{len(dupes)} duplicated ids (e.g. {dupes[:3]})")
    if missing:
        problems.append(f"{len(missing)} test ids missing (e.g. {missing[:3]})")
    if extra:
        problems.append(f"{len(extra)} ids not in the test set (e.g. {extra[:3]})")
    if problems:
        raise SubmissionError(f"{what}: " + "; ".join(problems))


def check_labels(labels, allowed, what: str = "submission") -> None:
    bad = sorted({str(x) for x in labels} - {str(a) for a in allowed})
    if bad:
        raise SubmissionError(f"{what}: unknown labels {bad}; allowed: {sorted(map(str, allowed))}")
