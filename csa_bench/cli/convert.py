"""``csa-bench convert SRC DST --config CONFIG``: turn an authors' released checkpoint into ours.

The source is read as data only (``torch.load(weights_only=True)``); its layout is recognised by a
registered converter and mapped strictly onto the config's model. Every official key left out is
printed with the reason. ``DST`` (``{'meta', 'state_dict'}``) is written atomically and never
overwrites an existing file without ``--force``. See docs/official_checkpoints.md.
"""
from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

from ._args import DictAction
from ._console import make_console
from .errors import CliError


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser('convert', help="convert an authors' released checkpoint for a config")
    parser.add_argument('src', help='official checkpoint (e.g. rice_final.pth)')
    parser.add_argument('dst', help='where to write the converted checkpoint (for `csa-bench test CONFIG DST`)')
    parser.add_argument('--config', required=True, help='the config whose model the checkpoint is mapped onto')
    parser.add_argument('--force', action='store_true', help='overwrite DST if it exists')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default=None, metavar='KEY=VALUE')
    return parser


def dropped_lines(dropped: dict[str, str]) -> list[str]:
    """One line per reason, with the keys it covers (the full list is also in the checkpoint's meta)."""
    by_reason: dict[str, list[str]] = defaultdict(list)
    for key, reason in sorted(dropped.items()):
        by_reason[reason].append(key)
    return [f'{len(keys)} key(s): {", ".join(keys)}\n    why: {reason}' for reason, keys in by_reason.items()]


def run(args: argparse.Namespace) -> int:
    from csa_bench.checkpoints import ConversionError, convert_file, save_converted
    from csa_bench.engine import api

    src, dst = Path(args.src), Path(args.dst)
    if not src.is_file():
        raise CliError(f'official checkpoint {src} does not exist')
    if dst.exists() and dst.resolve() == src.resolve():
        raise CliError(f'{dst} is the source file; write the converted checkpoint elsewhere')
    if dst.exists() and not args.force:
        raise CliError(f'{dst} exists; pass --force to overwrite it')
    try:
        cfg = api.load_config(args.config, args.cfg_options)
        converted = convert_file(src, cfg)
        save_converted(converted, dst, force=args.force)
    except (api.ConfigError, ConversionError, FileExistsError) as err:
        raise CliError(str(err)) from err
    console = make_console()
    result = converted.result
    console.print(f'{src} -> {dst}: layout {converted.converter}, {len(result.state_dict)} tensors for '
                  f'{args.config}', highlight=False, soft_wrap=True)
    for note in result.notes:
        console.print(f'note: {note}', highlight=False, soft_wrap=True)
    if result.dropped:
        console.print(f'dropped {len(result.dropped)} official key(s):', highlight=False)
        for line in dropped_lines(result.dropped):
            console.print(f'  {line}', highlight=False, soft_wrap=True)
    else:
        console.print('dropped nothing', highlight=False)
    console.print(f'evaluate with: csa-bench test {args.config} {dst}', highlight=False, soft_wrap=True)
    return 0
