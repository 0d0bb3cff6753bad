"""The converter interface and the strict assembly every converter ends with.

A converter turns the authors' released checkpoint (a plain state dict in *their* code's layout)
into our model's state dict. It is a class registered in ``CHECKPOINT_CONVERTERS`` (by a plugin:
the core knows no layout) that satisfies :class:`CheckpointConverter`:

- ``name``: a short layout name shown to users (``'rice-mmf'``, ``'rice-clip4clip'``);
- ``matches(state)``: True when ``state`` is in its layout; the core strips a DDP ``module.``
  prefix first, so converters see bare keys;
- ``convert(state, model)``: returns a :class:`ConversionResult` whose ``state_dict`` has exactly
  the model's keys, shapes and dtypes, and whose ``dropped`` names every official key left out,
  with the reason.

Conversion is strict: :func:`assemble` (the usual last step of ``convert``) refuses an official
key that is neither mapped nor dropped, a model key nothing provides, and any shape mismatch; the
dispatch checks every result again with :func:`validate_result`. The file side (loading, saving,
``csa-bench test`` on an official file) is in ``csa_bench.checkpoints.files``.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import torch
from torch import nn

from csa_bench.registry import CHECKPOINT_CONVERTERS

#: The prefix DDP puts on every key when the wrapped model's state dict is saved.
DDP_PREFIX = 'module.'


class ConversionError(ValueError):
    """An official checkpoint cannot be mapped onto the model: unknown layout, key or shape mismatch."""


@dataclass
class ConversionResult:
    """What a converter produced.

    Attributes:
        state_dict: Our model's keys -> tensors (exactly ``model.state_dict()``'s keys, shapes and dtypes).
        dropped: Official key -> why it is not loaded (unused by the official forward, not part of
            the evaluated model, ...).
        notes: Free-text remarks shown to the user (prefix stripped, scale reshaped, ...).
    """

    state_dict: dict[str, torch.Tensor]
    dropped: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@runtime_checkable
class CheckpointConverter(Protocol):
    """The interface of a registered converter (see the module docstring)."""

    name: str

    def matches(self, state: Mapping[str, torch.Tensor]) -> bool:
        """Whether ``state`` (``module.`` prefix already stripped) is in this converter's layout."""
        ...

    def convert(self, state: Mapping[str, torch.Tensor], model: nn.Module) -> ConversionResult:
        """Map ``state`` onto ``model``'s state dict; raise :class:`ConversionError` when it does not fit."""
        ...


def _first(names, count: int = 5) -> str:
    names = sorted(names)
    more = f' (+{len(names) - count} more)' if len(names) > count else ''
    return ', '.join(names[:count]) + more


def strip_ddp_prefix(state: Mapping[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], bool]:
    """Remove DDP's ``module.`` prefix when *every* key carries it; returns ``(state, stripped)``.

    A file where only some keys carry it is left as is (its layout is then not recognised).
    """
    if state and all(key.startswith(DDP_PREFIX) for key in state):
        return {key[len(DDP_PREFIX):]: value for key, value in state.items()}, True
    return dict(state), False


def assemble(official: Mapping[str, torch.Tensor], model: nn.Module, mapped: Mapping[str, tuple[str, torch.Tensor]],
             dropped: Mapping[str, str], notes: list[str] | None = None) -> ConversionResult:
    """Build a strict :class:`ConversionResult` from a converter's key mapping.

    Args:
        official: The official state dict (prefix stripped) the mapping was made from.
        model: The target model.
        mapped: Our key -> ``(official key it comes from, tensor)``; the tensor is already in our
            layout (transposed, reshaped) but may have another dtype.
        dropped: Official key -> reason it is not loaded.
        notes: Remarks for the user.

    Raises:
        ConversionError: an official key neither mapped nor dropped, a model key not provided, a
            key mapped that the model lacks, or a shape mismatch; the message gives counts and the
            first names.
    """
    used = {source for source, _ in mapped.values()}
    phantom = (used | set(dropped)) - set(official)
    if phantom:
        raise ConversionError(f'converter refers to {len(phantom)} keys the file does not have: {_first(phantom)}')
    both = used & set(dropped)
    if both:
        raise ConversionError(f'{len(both)} official keys are both mapped and dropped: {_first(both)}')
    leftover = set(official) - used - set(dropped)
    if leftover:
        raise ConversionError(f'{len(leftover)} official keys are neither mapped nor dropped (a layout this '
                              f'converter does not know): {_first(leftover)}')
    own = model.state_dict()
    missing, extra = set(own) - set(mapped), set(mapped) - set(own)
    if missing:
        raise ConversionError(f'{len(missing)} model keys have no official counterpart (does the config match '
                              f'the checkpoint?): {_first(missing)}')
    if extra:
        raise ConversionError(f'{len(extra)} mapped keys do not exist in the model: {_first(extra)}')
    state = {}
    for key, (source, tensor) in mapped.items():
        if tuple(tensor.shape) != tuple(own[key].shape):
            shape, ours = tuple(official[source].shape), tuple(tensor.shape)
            relaid = f' (= {ours} in our layout)' if ours != shape else ''
            raise ConversionError(f'shape mismatch: official {source} {shape}{relaid} vs model {key} '
                                  f'{tuple(own[key].shape)}')
        state[key] = tensor.detach().to(dtype=own[key].dtype).clone()
    return ConversionResult(state_dict=state, dropped=dict(dropped), notes=list(notes or []))


def validate_result(result: ConversionResult, model: nn.Module) -> None:
    """Check that ``result.state_dict`` has exactly the model's keys, shapes and dtypes.

    Raises:
        ConversionError: the first disagreement, with counts and names.
    """
    own = model.state_dict()
    missing, extra = set(own) - set(result.state_dict), set(result.state_dict) - set(own)
    if missing or extra:
        raise ConversionError(f'converted state dict does not match the model: {len(missing)} missing '
                              f'({_first(missing)}), {len(extra)} unexpected ({_first(extra)})')
    for key, tensor in result.state_dict.items():
        if tuple(tensor.shape) != tuple(own[key].shape) or tensor.dtype != own[key].dtype:
            raise ConversionError(f'converted {key} is {tuple(tensor.shape)} {tensor.dtype}, the model has '
                                  f'{tuple(own[key].shape)} {own[key].dtype}')
    bad = [key for key, reason in result.dropped.items() if not str(reason).strip()]
    if bad:
        raise ConversionError(f'{len(bad)} dropped keys have no reason: {_first(bad)}')


def registered_converters() -> list[CheckpointConverter]:
    """One instance of every registered converter, by registry name."""
    out = []
    for key in sorted(CHECKPOINT_CONVERTERS.module_dict):
        converter = CHECKPOINT_CONVERTERS.module_dict[key]()
        if not isinstance(converter, CheckpointConverter):
            raise TypeError(f'checkpoint converter {key!r} lacks name/matches/convert')
        out.append(converter)
    return out


def find_converter(state: Mapping[str, torch.Tensor]) -> CheckpointConverter:
    """The one registered converter whose ``matches`` accepts ``state`` (prefix already stripped).

    Raises:
        ConversionError: none matches (the message lists the known layouts) or several do.
    """
    converters = registered_converters()
    hits = [c for c in converters if c.matches(state)]
    if not hits:
        known = ', '.join(c.name for c in converters) or 'none registered (are the plugins imported?)'
        raise ConversionError(f'no known official layout (first keys: {_first(state, 4)}); known layouts: {known}')
    if len(hits) > 1:
        raise ConversionError(f'several converters claim this file: {", ".join(c.name for c in hits)}')
    return hits[0]


def convert_state(state: Mapping[str, torch.Tensor], model: nn.Module) -> tuple[str, ConversionResult]:
    """Strip the DDP prefix, find the converter, convert and validate; returns ``(converter name, result)``."""
    bare, stripped = strip_ddp_prefix(state)
    converter = find_converter(bare)
    result = converter.convert(bare, model)
    validate_result(result, model)
    if stripped:
        result.notes.insert(0, f'removed the DDP prefix {DDP_PREFIX!r} from all {len(bare)} keys')
    return converter.name, result
