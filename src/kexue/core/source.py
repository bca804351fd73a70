"""Where a competition's input comes from: the user's files, or the generated sample when there are none.

make watches a stamp of the input (source_stamp, rewritten only when it changes) instead of the files
themselves, so the preprocess stage reruns exactly when a file is replaced or a data config value changes.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from . import io
from .config import public


def _stat(path, watch: bool) -> list:
    p = Path(path) if path else None
    return [path, *((p.stat().st_size, p.stat().st_mtime_ns) if watch and p and p.exists() else [])]


def _stat_all(files, watch: bool):
    if isinstance(files, dict):
        return {k: _stat_all(v, watch) for k, v in files.items()}
    if isinstance(files, (list, tuple)):
        return [_stat_all(v, watch) for v in files]
    return _stat(files, watch)


def source_stamp(kind: str, cfg: dict, files) -> dict:
    """{"source", "cfg", "files"}: the data config and the name, size and mtime of every input file (`files` is
    a path or a dict/list of them, None allowed). The sample is a pure function of cfg["sample"], so its files
    are named, not stat-ed: stat-ing them would change the stamp the moment preprocess generates them, and the
    next make would preprocess again for nothing."""
    return {"source": kind, "cfg": public(cfg),
            "files": _stat_all(files, kind != "sample")}


def ensure_sample(cfg: dict, generate) -> None:
    """Generate the sample into cfg["sample_dir"] with generate(root, **cfg["sample"]), unless the sample there
    was made with these settings (its SAMPLE.json). Refuses to overwrite a folder no generator wrote."""
    root, settings = Path(cfg["sample_dir"]), cfg["sample"]
    marker = root / "SAMPLE.json"
    if marker.exists() and io.read_json(marker) == settings:
        return
    if marker.exists():
        shutil.rmtree(root)
    elif root.exists() and any(root.iterdir()):
        raise SystemExit(f"error: sample_dir {root}/ holds files that no sample generator wrote; refusing to "
                         f"overwrite them. Point data.sample_dir elsewhere.")
    generate(root, **settings)
    io.write_json(marker, settings)


def use_sample(comp: str, cfg: dict, generate, looked_for: str, contents: str) -> None:
    """Say, in the same words for every competition, that no competition files were found and the generated
    sample stands in (what it holds, where), then ensure_sample."""
    print(f"[{comp}] no competition files in {cfg['raw_dir']}/ ({looked_for}) -> using a GENERATED SAMPLE "
          f"({contents}) in {cfg['sample_dir']}/", flush=True)
    ensure_sample(cfg, generate)


def regular_files(paths, what: str) -> list[Path]:
    """The sorted paths, all of them plain readable files: a folder or a broken or looping link named like an
    input stops the run instead of being left out quietly (which would train on part of the data)."""
    out = sorted(paths)
    for p in out:
        if not p.is_file():
            kind = "a folder" if p.is_dir() else "a broken or looping link" if p.is_symlink() else "not a plain file"
            raise SystemExit(f"error: {p} matches {what}'s name but is {kind}; move it away or fix it")
    return out


def one_file(root: Path, pattern: str, what: str, required: bool) -> str | None:
    """The single file under root matching the glob pattern (None when optional and absent)."""
    matches = regular_files(Path(root).glob(pattern), f"the {what}")
    if len(matches) > 1:
        raise SystemExit(f"error: {root}/{pattern} matches {len(matches)} files ({', '.join(m.name for m in matches)}); "
                         f"the {what} must be one file: rename the others or set data.raw.{what}")
    if not matches and required:
        raise SystemExit(f"error: no {what} file {root}/{pattern}")
    return str(matches[0]) if matches else None


def preprocess_main(description: str, comp: str, stages, errors, hint: str = "") -> None:
    """The preprocess stage's command line, the same for every competition: resolve configs/<comp>/data.yaml
    (or --config) with --set overrides, then write only the source stamp (--stamp, what make watches) or run
    stages.preprocess(cfg, out, source). A data error (`errors`) ends the run with its message, and with `hint`
    where the error says skipping would help (`skippable`); an OSError with the path and the reason."""
    import argparse

    from . import config
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--config", default=f"configs/{comp}/data.yaml")
    p.add_argument("--out", default=f"data/processed/{comp}")
    p.add_argument("--source", choices=["auto", "raw", "sample"], default="auto",
                   help="auto: the competition files when present in raw_dir, else the generated sample")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a data config value")
    p.add_argument("--stamp", help="only write the source stamp (what make watches) to this path")
    args = p.parse_args()
    try:
        cfg = config.resolve(args.config, args.set)
        default = Path(f"configs/{comp}/data.yaml")
        if Path(args.config).resolve() != default.resolve() and default.exists():
            missing = sorted(set(config.load(default)) - set(cfg) - {"profiles"})
            if missing:   # a user's data config: the stages read every key the default one has
                raise config.ConfigError(f"{args.config}: no {', '.join(map(repr, missing))} (keys every data "
                                         f"config has); copy {'it' if len(missing) == 1 else 'them'} from {default}")
    except config.ConfigError as e:
        raise SystemExit(f"error: {e}") from None
    try:
        if args.stamp:
            io.write_json_if_changed(args.stamp, stages.source_stamp(cfg, args.source))
            return
        for tmp in io.remove_stale_temporaries(args.out):
            print(f"[{comp}] removed {tmp}, a temporary file left by a killed run", flush=True)
        stages.preprocess(cfg, args.out, args.source)
    except errors as e:
        raise SystemExit(f"error: {e}{hint if getattr(e, 'skippable', False) else ''}") from None
    except OSError as e:  # a read-only or full DATA_DIR, a vanished file: the path and the reason, no traceback
        import errno
        if e.strerror is None:                      # raised with a whole sentence of our own
            raise SystemExit(f"error: {e}") from None
        why = "; stage outputs go under DATA_DIR, which must be a writable folder with free space" \
            if e.errno in (errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOSPC) else ""
        raise SystemExit(f"error: {e.filename or args.out}: {e.strerror}{why}") from None
