"""Code stamps (kexue.core.codestamp) hash what code does: a comment or docstring edit reruns nothing, a code edit
reruns the stage, and stamps written by the older byte hashing convert without rerunning anything. The make-level
behaviour (which stage reruns on which edit) is tests/test_reruns.py's."""
import hashlib
import json
import os

import pytest

from kexue.core import codestamp

SOURCE = '''"""A module."""
import numpy as np


def scale(x):
    """Twice x."""
    return 2 * np.asarray(x)   # doubled
'''


@pytest.fixture
def root(tmp_path, monkeypatch):
    monkeypatch.setattr(codestamp, "ROOT", tmp_path)
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text(SOURCE)
    return tmp_path


def rewrite(root, old, new):
    path = root / "pkg" / "mod.py"
    path.write_text(path.read_text().replace(old, new))


def stamp_of(root, hashes=None, hashing=codestamp.HASHING, mtime_ns=1_000_000_000_000_000_000):
    """A stamp listing pkg/mod.py, dated well before now so that a rewrite shows in its mtime."""
    stamp = root / "code" / "train.json"
    stamp.parent.mkdir(exist_ok=True)
    content = {"files": hashes or {"pkg/mod.py": codestamp.file_hash("pkg/mod.py")}}
    if hashing:
        content["hashing"] = hashing
    stamp.write_text(json.dumps(content))
    os.utime(stamp, ns=(mtime_ns, mtime_ns))
    return stamp


@pytest.mark.parametrize("old, new", [
    ("   # doubled", "   # twice, not squared"),                       # a comment
    ('"""Twice x."""', '"""Twice x, as an array."""'),                 # a docstring
    ('"""A module."""\n', '"""A module.\n\nLonger now."""\n\n\n'),      # the module's docstring and blank lines
    ("return 2 * np.asarray(x)", "return (2 *\n            np.asarray(x))"),   # a line break inside an expression
])
def test_edits_that_change_no_code_keep_the_hash(root, old, new):
    before = codestamp.file_hash("pkg/mod.py")
    rewrite(root, old, new)
    assert codestamp.file_hash("pkg/mod.py") == before
    assert codestamp.file_hash("pkg/mod.py", raw=True) != hashlib.sha256(SOURCE.encode()).hexdigest()[:16]


@pytest.mark.parametrize("old, new", [
    ("2 * np", "3 * np"),                                              # a constant
    ("def scale(x):", "def scale(x, y=0):"),                           # a signature
    ('"""Twice x."""\n    return', '"""Twice x."""\n    print("scaling")\n    return'),   # a statement, a string
    ('"""Twice x."""', 'x = "Twice x."'),                              # a string that is no docstring
])
def test_code_edits_change_the_hash(root, old, new):
    before = codestamp.file_hash("pkg/mod.py")
    rewrite(root, old, new)
    assert codestamp.file_hash("pkg/mod.py") != before


def test_a_file_that_does_not_parse_is_hashed_on_its_bytes(root):
    rewrite(root, "def scale(x):", "def scale(x:")
    broken = codestamp.file_hash("pkg/mod.py")
    assert broken == codestamp.file_hash("pkg/mod.py", raw=True)
    rewrite(root, "   # doubled", "")
    assert codestamp.file_hash("pkg/mod.py") != broken
    assert codestamp.file_hash("pkg/gone.py") == "missing"


def test_check_marks_a_stamp_stale_on_code_edits_only(root):
    stamp = stamp_of(root)
    rewrite(root, "   # doubled", "   # doubled, see the docs")
    assert codestamp.check(root / "code") == []
    assert stamp.stat().st_mtime_ns == 1_000_000_000_000_000_000        # untouched: make reruns nothing
    rewrite(root, "2 * np", "3 * np")
    assert codestamp.check(root / "code") == ["train: pkg/mod.py changed"]
    content = json.loads(stamp.read_text())
    assert content["stale"] is True and content["hashing"] == codestamp.HASHING
    assert stamp.stat().st_mtime_ns > 1_000_000_000_000_000_000          # newer than the stage's outputs: it reruns


def test_an_older_stamp_converts_without_rerunning(root):
    raw = {"pkg/mod.py": codestamp.file_hash("pkg/mod.py", raw=True)}
    stamp = stamp_of(root, raw, hashing=None)
    assert codestamp.check(root / "code") == []
    content = json.loads(stamp.read_text())
    assert content == {"hashing": codestamp.HASHING, "files": {"pkg/mod.py": codestamp.file_hash("pkg/mod.py")}}
    assert stamp.stat().st_mtime_ns == 1_000_000_000_000_000_000


def test_an_older_stamp_whose_file_changed_is_stale(root):
    stamp = stamp_of(root, {"pkg/mod.py": codestamp.file_hash("pkg/mod.py", raw=True)}, hashing=None)
    rewrite(root, "   # doubled", "   # edited since the stage ran")     # older stamps cannot tell a comment
    assert codestamp.check(root / "code") == ["train: pkg/mod.py changed"]
    assert json.loads(stamp.read_text())["stale"] is True


def test_a_stale_older_stamp_stays_stale(root):
    stamp = stamp_of(root, {"pkg/mod.py": codestamp.file_hash("pkg/mod.py", raw=True)}, hashing=None)
    content = json.loads(stamp.read_text())
    stamp.write_text(json.dumps({**content, "stale": True}))
    assert codestamp.check(root / "code") == []
    assert json.loads(stamp.read_text())["stale"] is True


def test_record_into_an_older_stamp_keeps_a_change_it_did_not_run(root, monkeypatch):
    """A stage process recording into an older stamp whose file changed since must not absorb the change."""
    monkeypatch.setattr(codestamp, "imported_files", lambda: ["pkg/mod.py"])
    stamp = stamp_of(root, {"pkg/mod.py": codestamp.file_hash("pkg/mod.py", raw=True)}, hashing=None)
    rewrite(root, "2 * np", "3 * np")
    codestamp.record(stamp)
    assert codestamp.check(root / "code") == ["train: pkg/mod.py changed"]


def test_record_writes_the_hashing_and_keeps_the_mtime(root, monkeypatch):
    monkeypatch.setattr(codestamp, "imported_files", lambda: ["pkg/mod.py"])
    stamp = stamp_of(root, {"pkg/mod.py": codestamp.file_hash("pkg/mod.py", raw=True)}, hashing=None)
    codestamp.record(stamp)
    assert json.loads(stamp.read_text()) == {"hashing": codestamp.HASHING,
                                            "files": {"pkg/mod.py": codestamp.file_hash("pkg/mod.py")}}
    assert stamp.stat().st_mtime_ns == 1_000_000_000_000_000_000
