"""Official checkpoint files: read them as data only, convert them for a config, write our checkpoint.

``csa-bench convert SRC DST --config CONFIG`` is :func:`convert_file` + :func:`save_converted`;
``csa-bench test CONFIG SRC`` on an official file uses :func:`peek_official` before the runner is
built and :func:`load_official` after (``csa_bench.engine.api.test``).

The written checkpoint is mmengine-shaped, ``{'meta': {...}, 'state_dict': {...}}``, holding only
tensors, strings, numbers, lists and dicts, so it loads with ``torch.load(weights_only=True)``.
"""
from __future__ import annotations

import hashlib
import os
import pickle
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from mmengine.config import Config
from mmengine.model import is_model_wrapper
from torch import nn

from csa_bench.utils.atomic import atomic_write

from .convert import ConversionError, ConversionResult, convert_state, find_converter, strip_ddp_prefix

#: Checkpoint format marker written into ``meta``.
FORMAT = 'csa_bench converted official checkpoint v1'


def read_state_file(path: str | os.PathLike, mmap: bool = False) -> object:
    """``torch.load`` as data only (tensors, containers, numbers, strings); nothing else is unpickled.

    Raises:
        FileNotFoundError: no such file.
        ConversionError: the file needs arbitrary unpickling, or is not a torch file; names the file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'checkpoint {path} does not exist')
    try:
        return torch.load(str(path), map_location='cpu', weights_only=True, mmap=mmap)
    except pickle.UnpicklingError as err:
        raise ConversionError(f'{path}: refusing to unpickle objects other than tensors ({err}); official '
                              'checkpoints are plain state dicts') from err
    except (RuntimeError, EOFError, OSError, zipfile.BadZipFile, ValueError) as err:
        if mmap:  # files in torch's legacy (pre-1.6) format cannot be memory-mapped
            return read_state_file(path, mmap=False)
        raise ConversionError(f'{path}: not a readable torch file ({type(err).__name__}: {err})') from err


def plain_state_dict(obj: object, path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """``obj`` as a ``{str: Tensor}`` dict, or a :class:`ConversionError` naming the file and the bad entry."""
    if isinstance(obj, Mapping) and isinstance(obj.get('state_dict'), Mapping):
        raise ConversionError(f'{path}: already a checkpoint with "state_dict" (written by csa_bench/mmengine), '
                              'not an official plain state dict; use it directly')
    if not isinstance(obj, Mapping) or not obj:
        raise ConversionError(f'{path}: expected a non-empty state dict, got {type(obj).__name__}')
    for key, value in obj.items():
        if not isinstance(key, str) or not isinstance(value, torch.Tensor):
            raise ConversionError(f'{path}: entry {key!r} is a {type(value).__name__}, not a tensor')
    return dict(obj)


def sha256_file(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, 'rb') as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


def _without_pretrained_paths(cfg: object) -> object:
    """A copy of a model config with every string ``pretrained`` set to None.

    The converted checkpoint provides every parameter (strictly), so the initial weights the config
    names (e.g. the OpenAI ``ViT-B-32.pt``) are never needed to convert.
    """
    if isinstance(cfg, Mapping):
        return {k: (None if k == 'pretrained' and isinstance(v, str) else _without_pretrained_paths(v))
                for k, v in cfg.items()}
    if isinstance(cfg, (list, tuple)):
        return type(cfg)(_without_pretrained_paths(v) for v in cfg)
    return cfg


def build_model(cfg: Config) -> nn.Module:
    """The config's model, built through the MODELS registry (plugins imported by ``Config.fromfile``)."""
    from mmengine.registry import init_default_scope

    from csa_bench.registry import MODELS

    init_default_scope(cfg.get('default_scope', 'csa_bench'))
    model = MODELS.build(_without_pretrained_paths(cfg.model.to_dict() if hasattr(cfg.model, 'to_dict')
                                                   else cfg.model))
    return model.eval()


@dataclass
class ConvertedCheckpoint:
    """A converted checkpoint ready to save: ``checkpoint`` is ``{'meta', 'state_dict'}``."""

    checkpoint: dict
    converter: str
    result: ConversionResult


def convert_file(src: str | os.PathLike, cfg: Config) -> ConvertedCheckpoint:
    """Read the official file ``src`` and convert it for the model of ``cfg``.

    Raises:
        FileNotFoundError: ``src`` does not exist.
        ConversionError: not a plain state dict, unknown layout, or keys/shapes that do not fit
            the config's model; the message starts with ``src``.
    """
    state = plain_state_dict(read_state_file(src), src)
    model = build_model(cfg)
    try:
        name, result = convert_state(state, model)
    except ConversionError as err:
        raise ConversionError(f'{src} -> {cfg.filename}: {err}') from err
    meta = dict(format=FORMAT, converted_from=str(src), source_name=Path(src).name, sha256=sha256_file(src),
                converter=name, config=str(cfg.filename), dropped=dict(sorted(result.dropped.items())),
                notes=list(result.notes))
    return ConvertedCheckpoint({'meta': meta, 'state_dict': result.state_dict}, name, result)


def save_converted(converted: ConvertedCheckpoint, dst: str | os.PathLike, force: bool = False) -> None:
    """Write ``converted`` to ``dst`` atomically; an existing ``dst`` is an error unless ``force``."""
    dst = Path(dst)
    if dst.exists() and not force:
        raise FileExistsError(f'{dst} exists; pass --force to overwrite it')
    if dst.exists() and not dst.is_file():
        raise FileExistsError(f'{dst} exists and is not a file')
    with atomic_write(dst, 'wb') as handle:
        torch.save(converted.checkpoint, handle)


@dataclass
class OfficialCheckpoint:
    """An official file recognised by a converter, read (memory-mapped where possible) but not converted."""

    path: str
    state: dict[str, torch.Tensor]
    converter: str


def peek_official(path: str | os.PathLike | None) -> OfficialCheckpoint | None:
    """The official checkpoint at ``path``, or None when it is anything else (left to mmengine's loader).

    Official = loads as data only, is a plain ``{str: Tensor}`` dict, and a registered converter
    recognises its layout. A suite checkpoint (``{'meta', 'state_dict', ...}``, possibly holding
    pickled non-tensor state) returns None. Tensors are memory-mapped, so peeking is cheap.
    """
    if path is None or not Path(path).is_file():
        return None
    try:
        state = plain_state_dict(read_state_file(path, mmap=True), path)
        converter = find_converter(strip_ddp_prefix(state)[0])
    except ConversionError:
        return None
    return OfficialCheckpoint(str(path), state, converter.name)


def load_official(model: nn.Module, official: OfficialCheckpoint) -> ConversionResult:
    """Convert ``official`` for ``model`` (unwrapped if DDP-wrapped) and load it strictly, in memory.

    Raises:
        ConversionError: the file does not fit the model; the message starts with the file name.
    """
    target = model.module if is_model_wrapper(model) else model
    try:
        _, result = convert_state(official.state, target)
    except ConversionError as err:
        raise ConversionError(f'{official.path}: {err}') from err
    target.load_state_dict(result.state_dict, strict=True)
    return result


def maybe_convert_official(path: str | os.PathLike | None, model: nn.Module) -> ConversionResult | None:
    """If ``path`` is an official checkpoint, convert it and load it into ``model`` strictly; else None."""
    official = peek_official(path)
    return None if official is None else load_official(model, official)
