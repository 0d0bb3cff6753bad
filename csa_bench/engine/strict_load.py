"""Strict checkpoint loading: a checkpoint whose keys do not match the model is refused, not scored.

mmengine's ``Runner.load_checkpoint`` (used by ``load_from``, ``resume`` and ``runner.test()``) loads
with ``strict=False`` and only logs missing or unexpected keys, so a checkpoint of another config
(an ICL-only checkpoint under the full RICE config, say) leaves random weights in the model and
the run goes on. :class:`CheckedRunner` compares the keys first and raises
:class:`CheckpointMismatchError` with the counts, the first few names and, when the checkpoint
records it, the config it was saved by. ``allow_partial=True`` (``--allow-partial``) loads the
matching keys anyway and keeps the counts in :attr:`CheckedRunner.partial_load` for the result file.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import torch
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner
from mmengine.runner.checkpoint import _load_checkpoint, _load_checkpoint_to_model

from .console_log import quiet_console

_SHOWN = 5
_TIMESTAMP = re.compile(r'_\d{8}_\d{6}$')   # mmengine's experiment_name = <config stem>_<timestamp>


class CheckpointMismatchError(RuntimeError):
    """A checkpoint's model keys differ from the model's (missing, unexpected or differently shaped)."""


@dataclass(frozen=True)
class KeyReport:
    """How a checkpoint's ``state_dict`` fits a model: key names in model/checkpoint order."""

    missing: list[str]      # in the model, not in the checkpoint
    unexpected: list[str]   # in the checkpoint, not in the model
    mismatched: list[str]   # in both, different shapes

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.mismatched)

    def as_record(self) -> dict:
        """``{'missing': n, 'unexpected': n, 'shape_mismatch': n}`` for a result file."""
        return {'missing': len(self.missing), 'unexpected': len(self.unexpected),
                'shape_mismatch': len(self.mismatched)}


def _model_state(checkpoint: Any, revise_keys: list) -> dict:
    state = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint, dict) else {}
    revised = {}
    for key, value in state.items():
        for pattern, replacement in revise_keys:
            key = re.sub(pattern, replacement, key)
        revised[key] = value
    return revised


def compare_keys(model: torch.nn.Module, checkpoint: Any,
                 revise_keys: list = [(r'^module.', '')]) -> KeyReport:  # noqa: B006  (mmengine's default)
    """Compare ``model.state_dict()`` with the checkpoint's (after mmengine's ``revise_keys``)."""
    own = model.state_dict()
    theirs = _model_state(checkpoint, revise_keys)
    mismatched = [k for k in own if k in theirs and isinstance(theirs[k], torch.Tensor)
                  and tuple(theirs[k].shape) != tuple(own[k].shape)]
    return KeyReport(missing=[k for k in own if k not in theirs], unexpected=[k for k in theirs if k not in own],
                     mismatched=mismatched)


def saved_by(checkpoint: Any) -> str | None:
    """The config a checkpoint says it was saved by (``meta.config_file`` or the experiment name)."""
    meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
    if not isinstance(meta, dict):
        return None
    if meta.get('config_file'):
        digest = meta.get('config_hash')
        return str(meta['config_file']) + (f' (config hash {str(digest)[:12]})' if digest else '')
    if isinstance(meta.get('experiment_name'), str):
        return f"config {_TIMESTAMP.sub('', meta['experiment_name'])}.py (from its experiment name)"
    return None


def mismatch_message(filename: str, config: str | None, report: KeyReport, checkpoint: Any,
                     hint: bool = True) -> str:
    """One line: which checkpoint, which config, how many keys of each kind, the first few names
    (and, with ``hint``, what to do)."""
    def listed(names: list[str]) -> str:
        more = f', +{len(names) - _SHOWN} more' if len(names) > _SHOWN else ''
        return ', '.join(names[:_SHOWN]) + more

    parts = []
    if report.missing:
        parts.append(f'{len(report.missing)} model keys missing from it ({listed(report.missing)})')
    if report.unexpected:
        parts.append(f'{len(report.unexpected)} unexpected keys ({listed(report.unexpected)})')
    if report.mismatched:
        parts.append(f'{len(report.mismatched)} keys of another shape ({listed(report.mismatched)})')
    origin = saved_by(checkpoint)
    where = f' it was saved by {origin};' if origin else ''
    target = f' config {config}' if config else ' this model'
    text = f'checkpoint {filename} does not fit{target}: {"; ".join(parts)};{where}'
    if not hint:
        return text.rstrip(';')
    return (f'{text} load the checkpoint with the config that trained it, or pass --allow-partial '
            '(API/config: allow_partial=True) to load the matching keys only')


class CheckedRunner(Runner):
    """mmengine's ``Runner`` whose ``load_checkpoint`` (``load_from``, resume, test) is strict.

    Set :attr:`allow_partial` before ``train()``/``test()`` to load a mismatching checkpoint anyway;
    :attr:`partial_load` then holds :meth:`KeyReport.as_record` of the last load.
    """

    allow_partial: bool = False
    partial_load: dict | None = None
    #: False: the environment/config dumps and evaluation lines go to the log file only
    #: (:mod:`csa_bench.engine.console_log`); the CLI's ``-v/--verbose`` sets it True.
    console_dumps: bool = False
    #: False: the metric's one-line summary goes to the log file only (``csa-bench test`` prints a table).
    console_metric_summary: bool = True

    def build_logger(self, *args, **kwargs):
        logger = super().build_logger(*args, **kwargs)
        if not self.console_dumps:
            quiet_console(logger, self.console_metric_summary)
        return logger

    def load_checkpoint(self, filename: str, map_location: Any = 'cpu', strict: bool = False,
                        revise_keys: list = [(r'^module.', '')]):  # noqa: B006  (mmengine's signature)
        checkpoint = _load_checkpoint(filename, map_location=map_location)
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        model = self.model.module if is_model_wrapper(self.model) else self.model
        report = compare_keys(model, checkpoint, revise_keys)
        if not report.ok and not self.allow_partial:
            config = getattr(self.cfg, 'filename', None)
            raise CheckpointMismatchError(mismatch_message(filename, config, report, checkpoint))
        if self.allow_partial:
            self.partial_load = report.as_record()
            if not report.ok:
                self.logger.warning('--allow-partial: loading the matching keys only; '
                                    + mismatch_message(filename, None, report, checkpoint, hint=False))
        # Shapes were compared above: with allow_partial mmengine skips (and logs) those keys.
        checkpoint = _load_checkpoint_to_model(model, checkpoint, strict and report.ok, revise_keys=revise_keys)
        self._has_loaded = True
        self.logger.info(f'Load checkpoint from {filename}')
        return checkpoint
