"""The NL2SQL ensemble stage (pipelines/nl2sql/ensemble.py): the member runs' head probabilities averaged into a
run like any other, scored as training scores. No other stage imports this module, so editing it reruns the
ensembles alone."""
from __future__ import annotations

from ..core.blend import average_blend
from .stages import INPUTS, JSON_INPUTS, cv_data

__all__ = ["INPUTS", "JSON_INPUTS", "blend_runs"]     # kexue.core.protocol; the inputs are those of training


def blend_runs(params: dict, member_runs: list[str], inputs: dict) -> dict:
    """Average the members' head probabilities (OOF and test) into a run like any other."""
    data = cv_data(params, inputs)
    return average_blend(inputs["runs"], params, member_runs, data,
                            lambda r: f"logic-form {r['logic_form_acc']:.4f}", score=data.score)
