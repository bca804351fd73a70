"""YAML configs with dotted overrides and profiles.

A config file holds a stage's hyper-parameters. `--set train.lr=3e-4` overrides one
value for one run; a `profiles:` section holds the values that change on the generated
sample (the small twin of the real run: same code path, fewer epochs).
The resolved config is written with `write_json_if_changed`, so make reruns a stage
exactly when a value it reads changed.
"""
from __future__ import annotations

import argparse
import copy
import difflib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from . import io, schema
from .schema import MISSING as _MISSING
from .schema import get_dotted


class ConfigError(ValueError):
    pass


class _UniqueKeyLoader(yaml.SafeLoader):
    """safe_load that refuses a key given twice in one mapping (YAML keeps the last silently)."""

    def construct_mapping(self, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key '{key}' appears twice (first on line {seen[key] + 1}); YAML would keep only "
                                f"the last one", key_node.start_mark)
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


def load(path) -> dict:
    path = Path(path)
    try:
        cfg = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader) or {}
    except FileNotFoundError:
        there = sorted(p.stem for p in path.parent.glob("*.yaml")) if path.parent.is_dir() else []
        close = difflib.get_close_matches(path.stem, there, n=1)
        raise ConfigError(f"{path}: config file not found" + (f" (the configs there: {', '.join(there)})" if there
                                                              else "") + (f"; did you mean {close[0]}?" if close
                                                                          else "")) from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: a folder, not a config file (name a .yaml file in it)") from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not UTF-8 (byte {e.object[e.start:e.start + 1]!r} at offset {e.start}); "
                          f"save it as UTF-8") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: invalid YAML: {e}") from None
    if not isinstance(cfg, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(cfg).__name__}")
    return cfg


def public(cfg: dict) -> dict:
    """The values that decide what a stage computes: without the private keys resolve adds (`_config_file`,
    `_profile`), which say where the values came from. Run ids, stamps and compare read these."""
    return {k: v for k, v in cfg.items() if not str(k).startswith("_")}


def set_dotted(cfg: dict, key: str, value: Any, source: str = "override") -> None:
    node = cfg
    parts = key.split(".")
    for part in parts[:-1]:
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            raise ConfigError(f"{source}: cannot set '{key}': '{part}' is {child!r}, not a section")
        node = child
    node[parts[-1]] = value


def parse_override(text: str) -> tuple[str, Any]:
    """'a.b=3' -> ('a.b', 3); values are parsed as YAML, so 1e-3, true and [1, 2] work."""
    if "=" not in text:
        raise ConfigError(f"override '{text}': expected KEY=VALUE, e.g. train.lr=3e-4")
    key, raw = text.split("=", 1)
    key = key.strip()
    if not key:
        raise ConfigError(f"override '{text}': empty key")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    if isinstance(value, str):  # YAML 1.1 leaves '1e-3' as a string; a float is what everyone means
        try:
            value = float(value) if any(c in value for c in ".eE") else value
        except ValueError:
            pass
    return key, value


def _merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in over.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def load_with_base(path, _chain: tuple = ()) -> dict:
    """`load`, then, for a file that starts `base: lgbm`, every value it does not set taken from the sibling
    lgbm.yaml (profiles included; a base may have a base). Its `name` is its own, or its file name."""
    path = Path(path)
    cfg = load(path)
    if "base" not in cfg:
        return cfg
    base = cfg.pop("base")
    base_path = path.parent / f"{base}.yaml"
    if not isinstance(base, str) or not base_path.is_file():
        known = ", ".join(sorted(p.stem for p in path.parent.glob("*.yaml") if p != path))
        raise ConfigError(f"{path}: base: {base!r} names no config beside it (expected {base_path}; the configs "
                          f"there: {known})")
    if base_path.resolve() in _chain or base_path.resolve() == path.resolve():
        raise ConfigError(f"{path}: base: {base} leads back to itself ({' -> '.join(p.stem for p in _chain)})")
    if "model" not in cfg:
        raise ConfigError(f"{path}: base: {base} but no 'model:' line; add the model line of {base_path.name} "
                          f"(make reads it to know which stages the model needs)")
    merged = _merge(load_with_base(base_path, _chain + (path.resolve(),)), cfg)
    merged["name"] = cfg.get("name", path.stem)
    return merged


def missing_keys(cfg: dict, path) -> None:
    """A model config (one with `model: X`) must set every key its siblings of the same model set: a key left
    out would stop training with a KeyError after the run started. Says which, and how `base:` fills them."""
    path = Path(path)
    model = cfg.get("model")
    if not isinstance(model, str):
        return
    for sibling in sorted(path.parent.glob("*.yaml"), key=lambda p: (p.stem != model, p.name)):
        if sibling.resolve() == path.resolve():
            continue
        try:
            ref = load_with_base(sibling)
        except ConfigError:
            continue
        if ref.get("model") != model:
            continue
        ref.pop("profiles", None)
        ref.pop("tune", None)
        ref.pop("tuned_on", None)       # where make tune chose a config's values: only that config says it
        missing = [k for k in _dotted_keys(ref) if get_dotted(cfg, k, _MISSING) is _MISSING]
        if missing:
            raise ConfigError(f"{path}: model '{model}' reads {', '.join(missing)}, which this file does not set "
                              f"(compare {sibling}). Add them, or put 'base: {sibling.stem}' at the top to take "
                              f"every value you do not set from {sibling.name}.")
        return


def _dotted_keys(cfg: dict, prefix: str = "") -> list[str]:
    out = []
    for key, value in cfg.items():
        if isinstance(value, dict) and value:
            out += _dotted_keys(value, f"{prefix}{key}.")
        else:
            out.append(f"{prefix}{key}")
    return out


def resolve(path, overrides: Iterable[str] = (), profile: str | None = None) -> dict:
    """Load `path` (over its `base:`), apply its `profiles[profile]` section, then the command-line overrides."""
    cfg = load_with_base(path)
    missing_keys(cfg, path)
    profiles = cfg.pop("profiles", {}) or {}
    cfg.pop("tune", None)       # the search space of `make tune` (core.tune): not a value any stage computes with
    defaults = copy.deepcopy(cfg)
    origin = {}                          # key -> where its value came from, for the error message
    if profile and profile in profiles:
        for key, value in (profiles[profile] or {}).items():
            set_dotted(cfg, key, copy.deepcopy(value), source=f"{path}: profiles.{profile}")
            origin[key] = f"set by its profiles.{profile} section"
    for text in overrides:
        key, value = parse_override(text)
        if key.startswith("+"):  # '+key=value' adds a key the file does not have
            key = key[1:]
        elif get_dotted(cfg, key, _MISSING) is _MISSING:
            parent = get_dotted(cfg, key.rpartition(".")[0]) if "." in key else cfg
            known = ", ".join(sorted(parent)) if isinstance(parent, dict) else "none"
            close = difflib.get_close_matches(key.rpartition(".")[2], list(parent or {}), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise ConfigError(f"override '{text}': {path} has no key '{key}' (keys there: {known}).{hint} "
                              f"Prefix with '+' to add a new key.")
        set_dotted(cfg, key, value)
        origin[key] = f"set by the override '{text}'"
    check(cfg, defaults, path, origin)
    cfg["_config_file"] = str(path)
    cfg["_profile"] = profile
    return cfg


def check(cfg: dict, defaults: dict, path, origin: dict | None = None) -> None:
    """Stop on every value its key's type, allowed values or range refuses (kexue.core.schema), all at once."""
    bad = schema.problems(cfg, defaults, comp=Path(path).parent.name)
    if bad:
        origin = origin or {}
        def where(key):                 # "a and b" for a pairing rule: where each part came from
            said = [origin[k] for k in key.split(" and ") if k in origin]
            return "; ".join(said) or "in the file"
        lines = [f"  {key} = {value!r} ({where(key)}): expected {expected}" for key, value, expected in bad]
        raise ConfigError(f"{path}: {len(bad)} bad value{'s' if len(bad) > 1 else ''}:\n"
                          + "\n".join(lines) + "\nFix the file or the override (KEY=VALUE on the make line).")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Resolve a config (profile + overrides) into a JSON params file.")
    p.add_argument("config")
    p.add_argument("--out", required=True, help="params JSON; rewritten only when its content changes")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override one value (repeatable), e.g. --set train.lr=3e-4")
    p.add_argument("--profile-from", help="a data manifest JSON; its 'source' names the profile")
    p.add_argument("--profile", help="profile name (overrides --profile-from)")
    p.add_argument("--select", help="write only this (dotted) section, so unrelated edits rerun nothing")
    args = p.parse_args(argv)
    profile = args.profile
    if not profile and args.profile_from and Path(args.profile_from).exists():
        profile = io.read_json(args.profile_from).get("source")
    try:
        cfg = resolve(args.config, args.set, profile)
    except ConfigError as e:
        raise SystemExit(f"error: {e}")
    if args.select:
        cfg = get_dotted(cfg, args.select, _MISSING)
        if cfg is _MISSING:
            raise SystemExit(f"error: {args.config} has no section '{args.select}'")
    io.write_json_if_changed(args.out, cfg)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
