"""The competition's score: (logic-form accuracy + execution accuracy) / 2, with per-part accuracies.

Logic form compares as sets, the way the organiser's evaluation does: the order of selected columns and
of conditions does not matter. Values compare as strings; WikiSQL's own evaluation ignores case, so
value_compare="casefold" does too. Connectors compare as given (TableQA writes 0 for one condition).
"""
from __future__ import annotations

from .data import value_str

COMPONENTS = ("sel", "agg", "conn", "cond_col", "cond_op", "cond_val", "n_conds")


def _parts(sql, fold: bool) -> dict | None:
    """The comparable pieces of one SQL, or None when it is missing or malformed (counts as wrong)."""
    if not isinstance(sql, dict):
        return None
    try:
        sel, agg = [int(c) for c in sql["sel"]], [int(a) for a in sql["agg"]]
        conds = [(int(c), int(op), value_str(v)) for c, op, v in sql["conds"]]
        conn = int(sql["cond_conn_op"])
    except (KeyError, TypeError, ValueError):
        return None
    if fold:
        conds = [(c, op, v.casefold()) for c, op, v in conds]
    return {"sel": frozenset(sel), "agg": frozenset(zip(sel, agg)), "conn": conn,
            "cond_col": frozenset(c for c, _, _ in conds), "cond_op": frozenset((c, op) for c, op, _ in conds),
            "cond_val": frozenset((c, v) for c, _, v in conds), "n_conds": len(conds), "conds": frozenset(conds)}


def evaluate(gold: list[dict], pred: list[dict], table_ids: list[str], executor=None,
             value_compare: str = "exact") -> dict:
    """Scores of `pred` against `gold` (SQL dicts, aligned with `table_ids`); a None or malformed prediction
    is wrong everywhere. `executor` (sql.Executor or anything with can_execute/execute) adds execution
    accuracy over the questions whose table it can execute; when the gold SQL itself fails to run there,
    the prediction counts as executing right only if its logic form is exactly right."""
    if value_compare not in ("exact", "casefold"):
        raise ValueError(f"value_compare must be 'exact' or 'casefold', got {value_compare!r}")
    if not len(gold) == len(pred) == len(table_ids):
        raise ValueError(f"evaluate: {len(gold)} gold SQLs, {len(pred)} predictions and {len(table_ids)} table ids; "
                         f"they must be aligned one to one")
    if not gold:
        raise ValueError("evaluate: no questions to score")
    fold = value_compare == "casefold"
    right = dict.fromkeys(COMPONENTS, 0)
    lf = ex = n_exec = gold_errors = 0
    for g, p, tid in zip(gold, pred, table_ids):
        gp, pp, exact = _parts(g, fold), _parts(p, fold), _parts(g, False)
        if gp is None:
            raise ValueError(f"evaluate: gold SQL for table '{tid}' is malformed: {g!r}")
        for k in COMPONENTS:
            right[k] += pp is not None and gp[k] == pp[k]
        lf_ok = pp is not None and all(gp[k] == pp[k] for k in ("conn", "agg", "conds"))
        lf += lf_ok
        if executor is not None and executor.can_execute(tid):
            n_exec += 1
            g_res = executor.execute(g, tid)
            if g_res is None:
                gold_errors += 1
                ex += pp is not None and exact == _parts(p, False)
            else:
                ex += pp is not None and executor.execute(p, tid) == g_res
    n = len(gold)
    out = {"n": n, "logic_form_acc": lf / n, "execution_acc": ex / n_exec if n_exec else None,
           "n_executable": n_exec, "n_gold_exec_errors": gold_errors, "value_compare": value_compare}
    out["score"] = (out["logic_form_acc"] + out["execution_acc"]) / 2 if n_exec else out["logic_form_acc"]
    out["score_is"] = "(logic_form_acc + execution_acc) / 2" if n_exec else \
        "logic_form_acc only: " + ("no executor given" if executor is None else
                                   "no table could be executed (no .db and no rows)")
    out.update({k: right[k] / n for k in COMPONENTS})
    return out


def wrong_parts(gold: dict, pred, value_compare: str = "exact") -> list[str]:
    """The components `pred` gets wrong, plus "logic_form" when any part of it is wrong: error analysis."""
    fold = value_compare == "casefold"
    gp, pp = _parts(gold, fold), _parts(pred, fold)
    if pp is None:
        return ["malformed", "logic_form"]
    wrong = [k for k in COMPONENTS if gp[k] != pp[k]]
    return wrong + ["logic_form"] if any(gp[k] != pp[k] for k in ("conn", "agg", "conds")) else wrong


def report_lines(result: dict) -> list[str]:
    """Human-readable summary of an evaluate() result."""
    r = result
    if r.get("execution_acc") is not None:
        head = (f"score {r['score']:.4f} = (logic-form {r['logic_form_acc']:.4f} + execution "
                f"{r['execution_acc']:.4f}) / 2 on {r['n']} questions ({r['n_executable']} executable)")
    else:
        head = f"score {r['score']:.4f} on {r['n']} questions = {r.get('score_is', 'logic_form_acc only')}"
    lines = [head, "  ".join(f"{k} {r[k]:.4f}" for k in COMPONENTS if k in r)]
    if r.get("n_gold_exec_errors"):
        lines.append(f"warning: {r['n_gold_exec_errors']} gold SQLs failed to execute (scored by logic form)")
    if r.get("value_compare") == "casefold":
        lines.append("condition values compared case-insensitively")
    return lines


def _sqls(path, tables):
    """SQLs of a file in either format: answer lines (standard.json, a submission) or question lines."""
    from . import data
    try:
        with open(path, encoding="utf-8") as f:
            first = next((line for line in f if line.strip()), "{}")
    except (OSError, UnicodeDecodeError) as e:
        raise data.NL2SQLDataError(f"{path}: cannot be read as UTF-8 text ({type(e).__name__}: "
                                   f"{getattr(e, 'strerror', None) or e})") from None
    if '"question"' in first:
        return [(q["table_id"], q.get("sql")) for q in data.read_questions(path, tables, labelled=True)]
    return [(a["table_id"], a["sql"]) for a in data.read_answers(path, tables)]


def main(argv=None) -> int:
    """Score a prediction file against a gold file, as the organiser would."""
    import argparse

    from . import data
    from .sql import Executor
    p = argparse.ArgumentParser(description="Score NL2SQL predictions against gold SQL. Either file may be in the "
                                "answer format (standard.json, a submission) or the question format.")
    p.add_argument("gold")
    p.add_argument("pred")
    p.add_argument("--tables", help="*.tables.json: checks column ranges and, with rows, adds execution accuracy")
    p.add_argument("--db", help="the split's .db, for execution accuracy")
    p.add_argument("--value-compare", choices=["exact", "casefold"], default="exact")
    args = p.parse_args(argv)
    try:
        tables = data.read_tables(args.tables) if args.tables else None
        gold, pred = _sqls(args.gold, tables), _sqls(args.pred, tables)
        executor = Executor(tables, args.db) if tables is not None else None
    except data.NL2SQLDataError as e:
        raise SystemExit(f"error: {e}") from None
    if len(gold) != len(pred):
        raise SystemExit(f"error: {args.gold} has {len(gold)} lines but {args.pred} has {len(pred)}")
    bad = next((i for i, (g, q) in enumerate(zip(gold, pred)) if g[0] != q[0]), None)
    if bad is not None:
        raise SystemExit(f"error: line {bad + 1}: table_id {pred[bad][0]} in {args.pred} but {gold[bad][0]} in "
                         f"{args.gold}; the files are not in the same order")
    result = evaluate([g[1] for g in gold], [q[1] for q in pred], [g[0] for g in gold], executor, args.value_compare)
    print("\n".join(report_lines(result)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
