"""`make new-competition NAME=<name>`: a working tabular competition to start from (docs/adding-a-competition.md).

It writes, from kexue/core/scaffold_template/ (every `NAME` in a path and `{{name}}`, `{{NAME}}`, `{{Name}}` in
the text replaced): the package src/kexue/<name>/ (sample generator, checked preprocess, folds, the train
contract of kexue.core.protocol with LightGBM and a linear model, an averaging ensemble, a validated
submission), its stage scripts, configs and make file, and a test; then includes the make file from the
Makefile. `make <name>-submit` runs at once on the generated sample. Nothing existing is overwritten.
"""
from __future__ import annotations

import argparse
import keyword
import re
from pathlib import Path

TEMPLATE = Path(__file__).parent / "scaffold_template"
ROOT = Path(__file__).resolve().parents[3]
TAKEN = {"core", "layers", "losses", "bert", "spectra", "nl2sql", "qa", "cail2019", "cail", "test", "help", "venv",
         "compare", "clean", "data"}


def check_name(name: str, root: Path) -> None:
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name or "") or keyword.iskeyword(name):
        raise SystemExit(f"error: NAME={name!r}: use lower-case letters, digits and '_', starting with a letter "
                         f"(it becomes the package kexue.<name> and the make targets <name>-...)")
    if name in TAKEN or (root / "src" / "kexue" / name).exists():
        raise SystemExit(f"error: NAME={name}: taken (a package or make target of that name exists); pick another")


def render(text: str, name: str) -> str:
    camel = "".join(part.capitalize() for part in name.split("_"))
    return text.replace("{{name}}", name).replace("{{NAME}}", name.upper()).replace("{{Name}}", camel)


def plan(name: str, root: Path) -> dict[Path, str]:
    """{destination: text} of every file the scaffold writes."""
    out = {}
    for src in sorted(TEMPLATE.rglob("*.tmpl")):
        rel = src.relative_to(TEMPLATE).with_suffix("")           # drop .tmpl
        dest = root / Path(*[part.replace("NAME", name) for part in rel.parts])
        out[dest] = render(src.read_text(encoding="utf-8"), name)
    return out


def scaffold(name: str, root=ROOT) -> list[Path]:
    root = Path(root)
    check_name(name, root)
    files = plan(name, root)
    clash = [str(p.relative_to(root)) for p in files if p.exists()]
    if clash:
        raise SystemExit(f"error: NAME={name}: {', '.join(clash)} exist already; nothing was written")
    for dest, text in files.items():
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(text, encoding="utf-8")
    makefile = root / "Makefile"
    line = f"include mk/{name}.mk\n"
    if line not in makefile.read_text(encoding="utf-8"):
        with open(makefile, "a", encoding="utf-8") as f:
            f.write(line)
    return sorted(files)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("name")
    p.add_argument("--root", default=str(ROOT), help="the repository to write into")
    args = p.parse_args(argv)
    written = scaffold(args.name, args.root)
    root = Path(args.root)
    print(f"[scaffold] {args.name}: wrote {len(written)} files and included mk/{args.name}.mk from the Makefile:")
    for path in written:
        print(f"  {path.relative_to(root)}")
    print(f"Next: make {args.name}-submit (the generated sample), then put train.csv and test.csv in "
          f"data/raw/{args.name}/ and adapt src/kexue/{args.name}/ (docs/adding-a-competition.md).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
