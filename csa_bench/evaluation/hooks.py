"""``PairwiseScorerHook``: hand the model's pairwise scorer to re-ranking metrics before val / test."""

from __future__ import annotations

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from csa_bench.registry import HOOKS


def _metrics_of(evaluator: object) -> list:
    return list(getattr(evaluator, 'metrics', []) or [])


@HOOKS.register_module()
class PairwiseScorerHook(Hook):
    """Attach ``unwrap(runner.model).pairwise_scorer`` to every metric whose ``rerank`` is enabled.

    The scorer contract is documented in :mod:`csa_bench.evaluation.rerank`. A metric with re-ranking
    enabled and a model without ``pairwise_scorer`` is an error (never a silent fall-back to cosine).
    """

    priority = 'NORMAL'

    def _attach(self, runner: object, evaluator: object) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        for metric in _metrics_of(evaluator):
            if getattr(metric, 'rerank', None) is None:
                continue
            scorer = getattr(model, 'pairwise_scorer', None)
            if scorer is None:
                raise AttributeError(
                    f'{type(metric).__name__} re-ranks with a pairwise scorer, but model '
                    f'{type(model).__name__} has no `pairwise_scorer`'
                )
            metric.pairwise_scorer = scorer

    def before_val(self, runner: object) -> None:
        self._attach(runner, runner.val_evaluator)

    def before_test(self, runner: object) -> None:
        self._attach(runner, runner.test_evaluator)
