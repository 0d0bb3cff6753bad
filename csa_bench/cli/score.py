"""``csa-bench score``: scores in, protocol metrics out (no model, no dataset needed).

    csa-bench score --pred PRED --gt GT --protocol ID [--groups GROUPS] [--queries FILE] [--out result.json]

``PRED`` is the official prediction JSON (``{query_id: [[gallery_id, score], ...]}``), an ``.npz``
with a score matrix or embeddings (an evaluation dump's ``embeddings.npz``, or its folder), see
:mod:`csa_bench.evaluation.io` for every accepted shape. GT queries without a prediction are
misses (under ``all-gt`` protocols); a prediction for an id absent from the GT is an error.
``--queries FILE`` evaluates only the queries listed in FILE (the official ``lpr_eval.py -c FILE``:
one id per line, first tab-separated column); every listed id must be in the GT.

Ranked lists are checked (:mod:`csa_bench.evaluation.coverage`): a gallery id repeated in one list is
kept once (its first occurrence) and a list that does not rank its query's whole gallery is reported;
both are warnings, errors with ``--strict``, and ``--out`` records the coverage in the result file.
"""

from __future__ import annotations

import argparse


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        'score',
        help='compute protocol metrics from predictions and GT files',
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        '--pred', required=True, help='official prediction JSON, .npz, or an evaluation dump folder'
    )
    parser.add_argument('--gt', required=True, help='GT JSON {query_id: [gallery_id, ...]}')
    parser.add_argument('--protocol', required=True, help='protocol id (csa-bench list protocols)')
    parser.add_argument(
        '--groups', help='groups JSON {group: [gallery ids]} or {"query": {..}, "gallery": {..}}'
    )
    parser.add_argument(
        '--queries', help='evaluate only these query ids (one per line, first tab-separated column; official -c)'
    )
    parser.add_argument('--out', help='write a result JSON here')
    parser.add_argument('--k', type=int, nargs='+', help="override the protocol's K list")
    parser.add_argument('--method', default='external', help='method name recorded in the result')
    parser.add_argument('--dataset', help="dataset recorded in the result (default: the protocol's)")
    parser.add_argument('--split', default='test')
    parser.add_argument('--device', default='cpu', help='device for npz scoring (cpu, cuda)')
    parser.add_argument('--strict', action='store_true',
                        help='refuse ranked lists that repeat ids or do not cover their gallery (default: warn)')
    return parser


def run(args: argparse.Namespace) -> int:
    from ._score import run as run_score  # torch and the evaluation code: only when scoring

    return run_score(args)
