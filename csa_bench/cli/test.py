"""``csa-bench test CONFIG [CHECKPOINT]``: evaluate, print R@K, optionally write a result JSON."""
from __future__ import annotations

import argparse
import re

from rich.table import Table

from ._args import DictAction
from ._console import make_console
from .errors import CliError


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser('test', help='evaluate a model on its test split')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', nargs='?', default=None,
                        help='trained checkpoint; omit to evaluate the initial (pretrained or random) weights')
    parser.add_argument('--out', help='write the result JSON (for the leaderboard) here')
    parser.add_argument('--work-dir', help='where logs go (default work_dirs/<config stem>)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default=None, metavar='KEY=VALUE')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'], default='none')
    parser.add_argument('--train-time', type=float, default=None,
                        help='training wall time (s) to record in the result JSON')
    parser.add_argument('--allow-partial', action='store_true', default=None,
                        help='score a checkpoint whose keys do not all match the model (recorded in --out)')
    parser.add_argument('--unsafe-load', action='store_true', default=None,
                        help='fully unpickle a checkpoint that is not plain weights (runs any code it '
                             'carries: only for files you trust, e.g. written by an older csa_bench)')
    parser.add_argument('-v', '--verbose', action='store_true',
                        help='also print the environment and config dumps and the evaluation log lines '
                        '(always in the log file under the work dir)')
    return parser


def _metric_order(key: str) -> tuple:
    """R@K / top-K first in K order (R@1, R@3, R@5, R@10), then the other metrics; breakdowns
    (``R@1/product_scale=large``) after the top-level ones. A metric prefix (``lpr4m/R@1``) is allowed."""
    ranked = next((part.partition('@') for part in key.split('/') if re.fullmatch(r'[^@=]+@\d+', part)), None)
    head, _, k = ranked or ('', '', '0')
    return ('=' in key, ranked is None, head, int(k), key)


def metrics_table(metrics: dict, title: str) -> Table:
    """A rich table of the scalar metrics (R@K first, in K order)."""
    table = Table(title=title)
    table.add_column('metric')
    table.add_column('value', justify='right')
    keys = sorted(metrics, key=_metric_order)
    for key in keys:
        value = metrics[key]
        if isinstance(value, float):
            value = f'{value:.2f}'
        table.add_row(key, str(value))
    return table


def run(args: argparse.Namespace) -> int:
    from csa_bench.engine import api

    _announce(args, api)

    try:
        outcome = api.test(args.config, args.checkpoint, work_dir=args.work_dir,
                           cfg_options=args.cfg_options, launcher=args.launcher,
                           allow_partial=args.allow_partial, unsafe_load=args.unsafe_load)
    except (api.ConfigError, *api.CheckpointError) as err:
        raise CliError(str(err)) from err
    make_console().print(metrics_table(outcome.metrics, f'{args.config}'))
    if args.out:
        from csa_bench.results import result_from_test, write_result

        try:
            record = result_from_test(outcome, config_path=args.config, checkpoint=args.checkpoint,
                                      train_time_s=args.train_time)
        except api.CheckpointError as err:
            raise CliError(str(err)) from err
        write_result(args.out, record)
        make_console().print(f'result written to {args.out}')
    return 0


def _announce(args: argparse.Namespace, api) -> None:
    """The short header; with ``--verbose``, mmengine's dumps on the console too."""
    from csa_bench.engine.strict_load import CheckedRunner

    from ._header import header_lines

    CheckedRunner.console_dumps = bool(getattr(args, 'verbose', False))
    CheckedRunner.console_metric_summary = CheckedRunner.console_dumps   # the table below says it once
    try:
        cfg = api.load_config(args.config, args.cfg_options, args.work_dir)
    except api.ConfigError as err:
        raise CliError(str(err)) from err
    console = make_console()
    for line in header_lines(cfg, checkpoint=getattr(args, 'checkpoint', None), seed=getattr(args, 'seed', None)):
        console.print(line, highlight=False)
