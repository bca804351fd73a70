"""The package's modules import each other without cycles (at module level and inside functions alike), and no
competition imports another: the core is the ground floor, a competition a house on it."""
import ast

from conftest import ROOT

SRC = ROOT / "src"
COMPETITIONS = {"spectra", "nl2sql", "qa", "cail2019"}


def imports() -> dict[str, set[str]]:
    """module -> the kexue modules it imports, anywhere in its text (relative imports resolved)."""
    graph = {}
    for path in sorted((SRC / "kexue").rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        package = module if parts[-1] == "__init__" else module.rsplit(".", 1)[0]
        out = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                out |= {a.name for a in node.names if a.name.startswith("kexue")}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1] + ([base] if base else []))
                if base.startswith("kexue"):
                    # `from . import x` names a module; `from .m import f` the module m
                    out |= {f"{base}.{a.name}" for a in node.names} | {base}
        graph[module] = out
    return {m: {i for i in deps if i in graph and i != m} for m, deps in graph.items()}


def test_no_module_imports_itself_through_others():
    graph = imports()
    cycles, state = [], {}

    def visit(m, stack):
        state[m] = "open"
        for d in sorted(graph[m]):
            if d.endswith("__init__") or d in ("kexue",) or graph.get(d) is None:
                continue
            if state.get(d) == "open":
                cycles.append(stack[stack.index(d):] + [d])
            elif d not in state:
                visit(d, stack + [d])
        state[m] = "done"

    for m in graph:
        if m not in state:
            visit(m, [m])
    # a package's __init__ importing its own modules is not a cycle between modules
    cycles = [c for c in cycles if not any(len(x.split(".")) == 2 for x in c)]
    assert not cycles, cycles


def test_no_competition_imports_another():
    wrong = {m: sorted(d for d in deps if d.split(".")[1] in COMPETITIONS - {m.split(".")[1]})
             for m, deps in imports().items() if m.split(".")[1:2] and m.split(".")[1] in COMPETITIONS}
    assert not {m: d for m, d in wrong.items() if d}, wrong
