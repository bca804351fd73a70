import json

import pytest

from kexue.core import config, io


def write(tmp_path, text):
    p = tmp_path / "m.yaml"
    p.write_text(text)
    return p


def test_override_parses_yaml_values_and_dotted_keys(tmp_path):
    p = write(tmp_path, "lr: 0.1\ntrain: {epochs: 3, shares: {a: 1}}\nflag: false\n")
    cfg = config.resolve(p, ["lr=1e-3", "train.epochs=7", "flag=true", "train.shares={a: 2, b: 3}"])
    assert cfg["lr"] == pytest.approx(1e-3) and isinstance(cfg["lr"], float)
    assert cfg["train"]["epochs"] == 7 and cfg["flag"] is True
    assert cfg["train"]["shares"] == {"a": 2, "b": 3}


def test_unknown_key_is_an_error_with_a_suggestion(tmp_path):
    p = write(tmp_path, "train: {epochs: 3}\n")
    with pytest.raises(config.ConfigError, match="Did you mean 'epochs'"):
        config.resolve(p, ["train.epoch=4"])
    assert config.resolve(p, ["+train.extra=1"])["train"]["extra"] == 1


def test_profile_applies_before_overrides(tmp_path):
    p = write(tmp_path, "epochs: 30\nlr: 0.1\nprofiles:\n  sample: {epochs: 2}\n")
    assert config.resolve(p, profile="sample")["epochs"] == 2
    assert config.resolve(p, ["epochs=5"], profile="sample")["epochs"] == 5
    assert config.resolve(p)["epochs"] == 30
    assert "profiles" not in config.resolve(p)


def test_bad_yaml_and_missing_file_name_the_file(tmp_path):
    with pytest.raises(config.ConfigError, match="m.yaml: invalid YAML"):
        config.resolve(write(tmp_path, "a: [1, 2\n"))
    with pytest.raises(config.ConfigError, match="nope.yaml: config file not found"):
        config.resolve(tmp_path / "nope.yaml")


def test_params_file_is_rewritten_only_when_its_content_changes(tmp_path):
    p = write(tmp_path, "lr: 0.1\nfolds: {n: 5}\n")
    out = tmp_path / "params.json"
    config.main([str(p), "--out", str(out)])
    first = out.stat().st_mtime_ns
    config.main([str(p), "--out", str(out)])
    assert out.stat().st_mtime_ns == first
    config.main([str(p), "--out", str(out), "--set", "lr=0.2"])
    assert json.loads(out.read_text())["lr"] == 0.2
    config.main([str(p), "--out", str(out), "--select", "folds"])
    assert json.loads(out.read_text()) == {"n": 5}


def test_atomic_path_leaves_nothing_when_the_writer_fails(tmp_path):
    target = tmp_path / "out.npy"
    io.write_text(target, "old")
    with pytest.raises(RuntimeError), io.atomic_path(target) as tmp:
        tmp.write_text("half written")
        raise RuntimeError("crash")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.npy"]


def test_short_hash_ignores_key_order():
    assert io.short_hash({"a": 1, "b": [1, 2]}) == io.short_hash({"b": [1, 2], "a": 1})
    assert io.short_hash({"a": 1}) != io.short_hash({"a": 2})
