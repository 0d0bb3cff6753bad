"""``csa-bench train CONFIG``: train with mmengine's Runner (flags follow mmpretrain's tools/train.py)."""
from __future__ import annotations

import argparse

from ._args import DictAction
from ._console import make_console
from .errors import CliError


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser('train', help='train a model from a config')
    parser.add_argument('config', help='config file, e.g. configs/rice/...synthetic-lpr4m.py')
    parser.add_argument('--work-dir', help='where logs and iter_N.pth go (default work_dirs/<config stem>)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default=None, metavar='KEY=VALUE',
                        help='override config keys, e.g. train_cfg.max_iters=40')
    parser.add_argument('--resume', nargs='?', const='auto', default=None, metavar='CKPT',
                        help='resume from CKPT, or from the latest checkpoint in the work dir')
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision: AmpOptimWrapper on CUDA, bf16 autocast on CPU')
    parser.add_argument('--amp-dtype', choices=['float16', 'bfloat16'], default=None,
                        help='AMP dtype (default: the config\'s, else float16 on CUDA; CPU needs bfloat16)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'], default='none',
                        help='distributed launcher (torchrun = pytorch)')
    parser.add_argument('--seed', type=int, default=None, help='override randomness.seed')
    parser.add_argument('--overwrite', action='store_true',
                        help='start from iteration 0 in a work dir that holds another run\'s checkpoints '
                             '(they are replaced as this run saves)')
    parser.add_argument('--allow-partial', action='store_true', default=None,
                        help='load a --resume/load_from checkpoint whose keys do not all match the model')
    parser.add_argument('--unsafe-load', action='store_true', default=None,
                        help='fully unpickle a checkpoint that is not plain weights (runs any code it '
                             'carries: only for files you trust, e.g. written by an older csa_bench)')
    parser.add_argument('-v', '--verbose', action='store_true',
                        help='also print the environment and config dumps and the evaluation log lines '
                        '(always in the log file under the work dir)')
    return parser


def run(args: argparse.Namespace) -> int:
    from csa_bench.engine import api

    _announce(args, api)

    if args.amp_dtype and not args.amp:
        raise CliError('--amp-dtype needs --amp')
    if args.overwrite and args.resume:
        raise CliError('--overwrite starts over, --resume continues: pass one of them')
    try:
        outcome = api.train(args.config, work_dir=args.work_dir, cfg_options=args.cfg_options,
                            resume=args.resume or False, amp=args.amp, launcher=args.launcher, seed=args.seed,
                            amp_dtype=args.amp_dtype, overwrite=args.overwrite,
                            allow_partial=args.allow_partial, unsafe_load=args.unsafe_load)
    except (api.ConfigError, *api.CheckpointError) as err:
        raise CliError(str(err)) from err
    make_console().print(f'[green]trained[/] {args.config} in {outcome.train_time_s:.1f}s; '
                    f'last checkpoint: {outcome.checkpoint}', highlight=False)
    return 0


def _announce(args: argparse.Namespace, api) -> None:
    """The short header; with ``--verbose``, mmengine's dumps on the console too."""
    from csa_bench.engine.strict_load import CheckedRunner

    from ._header import header_lines

    CheckedRunner.console_dumps = bool(getattr(args, 'verbose', False))
    try:
        cfg = api.load_config(args.config, args.cfg_options, args.work_dir)
    except api.ConfigError as err:
        raise CliError(str(err)) from err
    console = make_console()
    for line in header_lines(cfg, checkpoint=getattr(args, 'checkpoint', None), seed=getattr(args, 'seed', None)):
        console.print(line, highlight=False)
