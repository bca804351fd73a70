"""The reading-comprehension ensemble stage (pipelines/qa/ensemble.py): the member runs' start and end
probabilities averaged into a run like any other, scored as training scores. No other stage imports this module,
so editing it reruns the ensembles alone."""
from __future__ import annotations

from ..core.blend import average_blend
from .stages import INPUTS, JSON_INPUTS, cv_data

__all__ = ["INPUTS", "JSON_INPUTS", "blend_runs"]     # kexue.core.protocol; the inputs are those of training


def blend_runs(params: dict, member_runs: list[str], inputs: dict) -> dict:
    """Average the members' start and end probabilities (OOF and test) into a run like any other."""
    data = cv_data(params, inputs)
    return average_blend(inputs["runs"], params, member_runs, data,
                            lambda r: f"accuracy {r['accuracy']:.4f}, F1 {r['f1']:.4f}", score=data.score)
