import json

import pytest
from conftest import ROOT

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


def test_base_takes_every_value_the_file_does_not_set(tmp_path):
    (tmp_path / "lgbm.yaml").write_text("name: lgbm\nmodel: lgbm\nseed: 1\nlgbm: {leaves: 15, rounds: 400}\n"
                                        "profiles:\n  sample: {lgbm.rounds: 20}\n")
    big = tmp_path / "lgbm_big.yaml"
    big.write_text("base: lgbm\nmodel: lgbm\nlgbm: {leaves: 255}\n")
    cfg = config.resolve(big)
    assert cfg["name"] == "lgbm_big" and cfg["seed"] == 1 and cfg["lgbm"] == {"leaves": 255, "rounds": 400}
    assert config.resolve(big, profile="sample")["lgbm"] == {"leaves": 255, "rounds": 20}   # the base's profile
    # the base's types are the file's: a text where its number goes is refused
    with pytest.raises(config.ConfigError, match="lgbm.leaves = 'many'"):
        config.resolve(big, ["lgbm.leaves=many"])


def test_a_model_config_missing_keys_its_siblings_set_is_refused_before_training(tmp_path):
    (tmp_path / "lgbm.yaml").write_text("name: lgbm\nmodel: lgbm\nseed: 1\nlgbm: {leaves: 15, rounds: 400}\n")
    small = tmp_path / "lgbm_small.yaml"
    small.write_text("name: lgbm_small\nmodel: lgbm\nlgbm: {leaves: 4}\n")
    with pytest.raises(config.ConfigError, match=r"model 'lgbm' reads seed, lgbm.rounds, .*'base: lgbm'"):
        config.resolve(small)
    small.write_text("name: lgbm_small\nmodel: lgbm\nseed: 2\nlgbm: {leaves: 4, rounds: 9, extra: 1}\n")
    assert config.resolve(small)["lgbm"]["extra"] == 1        # more keys than the siblings is fine


@pytest.mark.parametrize("files, says", [
    ({"a.yaml": "base: nope\nmodel: m\n"}, r"base: 'nope' names no config beside it .*nope.yaml"),
    ({"a.yaml": "base: b\nmodel: m\n", "b.yaml": "base: a\nmodel: m\n"}, "leads back to itself"),
    ({"a.yaml": "base: b\nx: 1\n", "b.yaml": "model: m\nx: 2\n"}, "no 'model:' line"),
])
def test_a_broken_base_is_named(tmp_path, files, says):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(config.ConfigError, match=says):
        config.resolve(tmp_path / "a.yaml")


def test_every_shipped_config_resolves():
    """Each passes its type and missing-key checks (the sibling rule above holds between shipped configs)."""
    paths = sorted(ROOT.glob("configs/*/*.yaml"))
    assert len(paths) > 20
    for path in paths:
        config.resolve(path)
