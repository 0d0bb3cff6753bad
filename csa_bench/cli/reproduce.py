"""``csa-bench reproduce``: train and test every config of a suite, write result JSONs, regenerate the
leaderboard.

Rules (documented here, relied on by ``make demo``):
- Where it writes: only under ``--results`` (result JSONs and the ``.csa_bench_reproduce.lock`` that
  refuses a second ``reproduce`` on the same folder), ``--work-dir`` and beside ``--leaderboard-out``
  (the markdown and its ``figures/``). Both default to the parent of ``--results``:
  ``<results>/../work_dirs`` and ``<results>/../LEADERBOARD.md``, so the default (the project checkout's
  ``leaderboard/results``, from any directory) gives the committed layout (``leaderboard/LEADERBOARD.md``,
  ``leaderboard/figures/``) and work dirs in ``leaderboard/work_dirs`` (git-ignored). The README's
  generated block is rewritten only when the leaderboard written is the project's own
  ``leaderboard/LEADERBOARD.md``.
- Suites are globs under ``--configs`` (default: the installed project's ``configs/``, never the
  current directory's): ``csa-ablation`` = ``rice/*{dataset}*.py``,
  ``baselines`` = ``baselines/*/*{dataset}*.py``, ``all`` = both. ``--dataset synthetic`` keeps only
  file names containing ``synthetic``; ``lpr4m`` / ``movingfashion`` keep only names *without* it.
  Folders starting with ``_`` (``_base_``) are never searched.
- Seeds: run ``i`` (``0 <= i < --seeds``) uses ``randomness.seed + i`` of the config (42 + i for the
  official runtime), so a single-seed run reproduces the config's own seed.
- Zero-shot configs (``zero_shot = True``, or no ``train_cfg``: ``csa_bench.results.is_zero_shot``, judged
  before ``--cfg-options``) are only tested, with the seed passed as ``randomness.seed`` (it seeds any
  random initialisation); ``--cfg-options`` keys under ``TRAIN_KEYS`` are not applied to them.
- Result files go to ``<results>/<config stem>[@<overrides tag>]/seed<S>.json``: the tag (a digest of the
  result-changing ``--cfg-options``, ``csa_bench.results.overrides_tag``) keeps such runs apart.
- Resume: a run is skipped when its result file exists, is valid and has the
  same config hash, seed and test-annotation checksum (regenerated data re-runs); ``--force`` re-runs
  everything from scratch. Training resumes from the work dir's last checkpoint only when the work
  dir was started by the same config hash (``<work dir>/csa_bench_config_hash``).
- A failing run is reported and counted; the others still run; the exit status is then 1.
- ``--verify`` re-runs the committed rows (every config of the selection with results in ``--results``,
  the committed seeds) into ``--verify-out`` (default: a new temporary folder; never inside
  ``--results``), from scratch, and compares each row with :mod:`csa_bench.engine.verify` (R@1 inside the
  committed 95% interval, or identical); exit status 1 when a row is not reproduced. Nothing under
  ``--results`` and no leaderboard file is written.
- ``--jobs N`` runs N jobs at once in worker processes with ``--threads`` torch threads each (the
  2-core demo: 2 jobs x 1 thread; tiny models gain little from intra-op threads, and two processes
  overlap data loading with compute). Validation during training is skipped (``val_interval`` past
  the last iteration): every run is tested right after training, on the split val would use.
"""
from __future__ import annotations

import argparse
import fnmatch
import os
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ._args import DictAction, project_default
from ._console import make_console
from .errors import CliError

SUITES = {'csa-ablation': ('rice/*{dataset}*.py',), 'baselines': ('baselines/*/*{dataset}*.py',)}
SUITES['all'] = SUITES['csa-ablation'] + SUITES['baselines']
DATASETS = ('synthetic', 'lpr4m', 'movingfashion')
HASH_MARKER = 'csa_bench_config_hash'
#: Top-level keys that only configure training (dropped from --cfg-options for zero-shot configs).
TRAIN_KEYS = ('train_cfg', 'train_dataloader', 'optim_wrapper', 'param_scheduler', 'auto_scale_lr')


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser('reproduce', help='train + test a suite, update the leaderboard')
    parser.add_argument('--suite', choices=sorted(SUITES), default='all')
    parser.add_argument('--dataset', choices=DATASETS, default='synthetic')
    parser.add_argument('--seeds', type=int, default=1, help='runs per config: config seed + 0..N-1')
    parser.add_argument('--results', default=str(project_default('leaderboard/results')),
                        help="result JSON folder (default: the project's, %(default)s)")
    parser.add_argument('--work-dir', default=None,
                        help='work dirs go to WORK_DIR/<config stem>/seed<S> (default RESULTS/../work_dirs)')
    parser.add_argument('--configs', default=None,
                        help="config root the suites are globbed in (default: the installed project's configs/)")
    parser.add_argument('--only', default=None, metavar='GLOB', nargs='+',
                        help='keep only the configs whose file stem matches one of the GLOBs (fnmatch)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default=None, metavar='KEY=VALUE',
                        help='overrides for every run (part of the config hash), e.g. train_cfg.max_iters=20')
    parser.add_argument('--leaderboard-out', default=None,
                        help='leaderboard markdown; figures go to figures/ beside it '
                        '(default RESULTS/../LEADERBOARD.md)')
    parser.add_argument('--no-leaderboard', action='store_true', help='do not regenerate the leaderboard')
    parser.add_argument('--force', action='store_true', help='re-run even the runs whose result matches')
    parser.add_argument('--jobs', type=int, default=1, help='runs at once, each in its own process')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch threads per job (default: 1 when --jobs > 1, else torch\'s default)')
    parser.add_argument('--dry-run', action='store_true',
                        help='list the runs and whether each would be skipped')
    parser.add_argument('--verify', action='store_true',
                        help='re-run the committed rows found in --results (their seeds) into --verify-out and '
                        'report whether each new R@1 falls inside the committed 95%% interval; exit 1 if one '
                        'does not (--results and the leaderboard are never written)')
    parser.add_argument('--no-doctor', action='store_true',
                        help='skip the preflight checks (`csa-bench doctor`) run before a real-data suite')
    parser.add_argument('--verify-out', default=None, metavar='DIR',
                        help='where --verify writes its results and work dirs (default: a new temporary folder)')
    return parser


@dataclass
class Run:
    """One (config, seed) job and what happened to it."""

    config: Path
    seed: int
    config_hash: str
    result: Path
    work_dir: Path
    zero_shot: bool
    cfg_options: dict | None = None
    fresh: bool = False          # --force: train from scratch, never resume the work dir
    status: str = 'pending'      # pending | skipped | done | failed
    reason: str = ''
    train_s: float | None = None
    test_s: float | None = None
    wall_s: float = 0.0
    first_metric: str = ''


def suite_configs(suite: str, dataset: str, root: str | Path = 'configs') -> list[Path]:
    """The config files of ``suite`` for ``dataset`` (rules in the module docstring), sorted."""
    root = Path(root)
    found = set()
    for pattern in SUITES[suite]:
        for path in root.glob(pattern.format(dataset=dataset)):
            rel = path.relative_to(root)
            if any(part.startswith('_') for part in rel.parts) or not path.is_file():
                continue
            if ('synthetic' in path.name) == (dataset == 'synthetic'):
                found.add(path)
    return sorted(found)


def plan_runs(configs: list[Path], seeds: int, results: Path, work_root: Path,
              cfg_options: dict | None, force: bool = False) -> list[Run]:
    """Load each config once (hash, seed, zero-shot flag) and decide which runs are already done."""
    from csa_bench.engine.api import ConfigError, load_config
    from csa_bench.identity import overrides_tag
    from csa_bench.results import ResultError, annotation_checksum, config_hash, is_zero_shot, load_result

    runs = []
    for config in configs:
        try:
            cfg = load_config(config)
            zero_shot = is_zero_shot(cfg)
            options = cfg_options
            if zero_shot and cfg_options:
                options = {k: v for k, v in cfg_options.items() if k.split('.')[0] not in TRAIN_KEYS}
            if options:
                cfg = load_config(config, options)
        except (ConfigError, SyntaxError, KeyError, ValueError) as err:
            raise CliError(f'{config}: cannot load the config ({err})') from err
        digest = config_hash(cfg)
        data_root = Path(str(cfg.test_dataloader.dataset.get('data_root', '')))
        annotations = annotation_checksum(data_root)['sha256'] if data_root.is_dir() else None
        base = int(cfg.get('randomness', {}).get('seed') or 0)
        for i in range(seeds):
            seed = base + i
            # Runs with result-changing overrides get their own folder (csa_bench.results.overrides_tag):
            # they are another leaderboard row and must not replace the config's own results.
            folder = config.stem + overrides_tag(options)
            run = Run(config, seed, digest, results / folder / f'seed{seed}.json',
                      work_root / folder / f'seed{seed}', zero_shot, options, fresh=force)
            if run.result.is_file() and force:
                run.reason = '--force: re-running'
            elif run.result.is_file():
                try:
                    old = load_result(run.result)
                except ResultError as err:
                    run.reason = f'existing result invalid, re-running ({err})'
                else:
                    if old['config_hash'] != digest or old['seed'] != seed:
                        run.reason = 'existing result has another config hash; re-running'
                    elif old['annotations']['sha256'] != annotations:
                        run.reason = 'the test annotations changed since the existing result; re-running'
                    else:
                        run.status, run.reason = 'skipped', 'result exists (same config hash, seed, data)'
            runs.append(run)
    return runs


def _execute(run: Run) -> dict:
    """Train (unless zero-shot) and test one run; returns the result record (also written)."""
    from csa_bench.engine import api
    from csa_bench.results import result_from_test, write_result

    cfg_options = run.cfg_options
    options = dict(cfg_options or {}, **{'randomness.seed': run.seed})
    checkpoint, train_s = None, None
    if not run.zero_shot:
        marker = run.work_dir / HASH_MARKER
        resume = not run.fresh and marker.is_file() and marker.read_text().strip() == run.config_hash
        run.work_dir.mkdir(parents=True, exist_ok=True)
        marker.write_text(run.config_hash + '\n')
        # No validation inside training: the run is tested right below (same split for synthetic).
        # val_begin too: mmengine also validates at the last iteration whatever the interval, which
        # cost a second full evaluation per run.
        train_options = dict(cfg_options or {}, **{'train_cfg.val_interval': 10**9, 'train_cfg.val_begin': 10**9})
        trained = api.train(run.config, work_dir=str(run.work_dir), cfg_options=train_options,
                            resume='auto' if resume else False, overwrite=not resume, seed=run.seed)
        if not trained.checkpoint:
            raise RuntimeError(f'training {run.config} saved no checkpoint in {run.work_dir} '
                               '(check default_hooks.checkpoint)')
        checkpoint, train_s = trained.checkpoint, trained.train_time_s
    tested = api.test(run.config, checkpoint, work_dir=str(run.work_dir), cfg_options=options)
    record = result_from_test(tested, config_path=run.config, checkpoint=checkpoint, train_time_s=train_s,
                              seed=run.seed)
    if record['config_hash'] != run.config_hash:
        run.reason = ('config hash at test time differs from the planned one: a re-run will not '
                      'recognise this result')
    write_result(run.result, record)
    run.train_s, run.test_s = train_s, tested.test_time_s
    metrics = record['metrics']
    key = next((k for k in ('R@1', 'top1') if k in metrics), None)
    run.first_metric = f'{key} {metrics[key]:.2f}' if key else ''
    return record


def _execute_in_worker(run: Run, threads: int | None) -> Run:
    """Worker-process entry: run one job, return the updated ``Run`` (the record is on disk).

    The job's console output (mmengine's config dump and training log) goes to
    ``<work dir>/reproduce.log``; the work dir's own timestamped log has the same lines. The main
    process prints one line per finished run, so parallel jobs never interleave on the terminal.
    """
    import os
    import sys

    if threads:
        import torch
        torch.set_num_threads(threads)
    run.work_dir.mkdir(parents=True, exist_ok=True)
    saved = [os.dup(1), os.dup(2)]
    with open(run.work_dir / 'reproduce.log', 'ab') as log:
        sys.stdout.flush(), sys.stderr.flush()
        os.dup2(log.fileno(), 1), os.dup2(log.fileno(), 2)
        try:
            _attempt(run)
        finally:
            sys.stdout.flush(), sys.stderr.flush()
            os.dup2(saved[0], 1), os.dup2(saved[1], 2)
            os.close(saved[0]), os.close(saved[1])
    return run


def _attempt(job: Run) -> None:
    """Execute one job; a failure is recorded on the job (status, reason, traceback file)."""
    start = time.perf_counter()
    try:
        _execute(job)
        job.status = 'done'
    except Exception as err:   # noqa: BLE001  (one broken config must not stop the suite; counted)
        job.status, job.reason = 'failed', f'{type(err).__name__}: {" ".join(str(err).split())}'
        job.work_dir.mkdir(parents=True, exist_ok=True)
        trace = job.work_dir / 'reproduce_error.txt'
        trace.write_text(traceback.format_exc())
        job.reason += f' (traceback: {trace})'
    job.wall_s = time.perf_counter() - start


def _jobs(todo: list[Run], jobs: int, threads: int | None):
    """Yield each job once it has finished: in order in-process, or as completed from a pool."""
    if jobs <= 1:
        if threads:
            import torch
            torch.set_num_threads(threads)
        for job in todo:
            _attempt(job)
            yield job
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # fork: workers inherit the imported plugins and registries (nothing has touched CUDA here).
    context = multiprocessing.get_context('fork')
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = [pool.submit(_execute_in_worker, job, threads or 1) for job in todo]
        for future in as_completed(futures):
            done = future.result()
            original = todo[futures.index(future)]
            original.__dict__.update(done.__dict__)
            yield original


def _summary(runs: list[Run]) -> Table:
    table = Table(title='reproduce (full notes in the per-run lines above)')
    widths = {'config': (20, None), 'seed': (4, 4), 'status': (7, 7), 'train s': (7, 7), 'test s': (6, 6),
              'metric': (12, 12), 'note': (10, 30)}
    for name, (low, high) in widths.items():
        # One line per run: notes are cut (printed in full above), never wrapped over many lines; config
        # names are never cut (folded only on a terminal too narrow for them).
        table.add_column(name, justify='right' if name.endswith(' s') or name == 'seed' else 'left',
                         no_wrap=name != 'config', overflow='fold' if name == 'config' else 'ellipsis',
                         min_width=low, max_width=high)
    for run in runs:
        table.add_row(run.config.stem, str(run.seed), run.status,
                      '' if run.train_s is None else f'{run.train_s:.1f}',
                      '' if run.test_s is None else f'{run.test_s:.1f}', run.first_metric, run.reason)
    return table


#: In ``--results``: held (``fcntl.flock``) while a ``reproduce`` writes there; a second one is refused.
LOCK_FILE = '.csa_bench_reproduce.lock'


def resolve_outputs(args: argparse.Namespace) -> None:
    """Fill the defaults that follow ``--results`` (module docstring) and the project's config root."""
    from csa_bench.plugin_loader import project_configs

    parent = Path(os.path.abspath(args.results)).parent
    if args.work_dir is None:
        args.work_dir = str(parent / 'work_dirs')
    if args.leaderboard_out is None:
        args.leaderboard_out = str(parent / 'LEADERBOARD.md')
    if args.configs is None:
        args.configs = str(project_configs())


def run(args: argparse.Namespace) -> int:
    """Resolve the output folders, hold the results folder's lock, then run the suite."""
    from csa_bench.utils.locks import LockHeldError, exclusive_lock

    resolve_outputs(args)
    if args.dry_run:
        return _run(args)
    make_console().print(f'results: {args.results}; work dirs: {args.work_dir}; leaderboard: '
                    + ('(not written)' if args.no_leaderboard else args.leaderboard_out), highlight=False,
                    soft_wrap=True)
    try:
        with exclusive_lock(Path(args.results) / LOCK_FILE, f'results folder {args.results}'):
            return _run(args)
    except LockHeldError as err:
        raise CliError(str(err)) from None


def _run(args: argparse.Namespace) -> int:
    console = make_console()
    if args.jobs < 1:
        raise CliError(f'--jobs must be >= 1, got {args.jobs}')
    if args.seeds < 1:
        raise CliError(f'--seeds must be >= 1, got {args.seeds}')
    configs = suite_configs(args.suite, args.dataset, args.configs)
    if args.only:
        configs = [c for c in configs if any(fnmatch.fnmatch(c.stem, glob) for glob in args.only)]
    if not configs:
        raise CliError(f'no configs for suite {args.suite!r} and dataset {args.dataset!r} under '
                       f"{args.configs}/ (patterns {', '.join(SUITES[args.suite])}"
                       + (f", stem matching {' or '.join(map(repr, args.only))})" if args.only else ')'))
    if args.dataset != 'synthetic' and not args.no_doctor and not preflight(configs, args, console):
        return 1
    if args.verify:
        return verify(args, configs, console)
    runs = plan_runs(configs, args.seeds, Path(args.results), Path(args.work_dir), args.cfg_options,
                     args.force)
    # Trained runs first, the short test-only ones last: with --jobs N they fill the pool's tail.
    todo = sorted((r for r in runs if r.status == 'pending'), key=lambda r: r.zero_shot)
    console.print(f'{len(configs)} config(s) x {args.seeds} seed(s): {len(todo)} to run, '
                  f'{len(runs) - len(todo)} already done', highlight=False)
    if args.dry_run:
        make_console(min_width=132).print(_summary(runs))
        return 0
    durations: list[float] = []
    columns = (TextColumn('{task.description}'), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(f'reproduce ({args.jobs} job(s) at once)', total=len(todo))
        for index, job in enumerate(_jobs(todo, args.jobs, args.threads), start=1):
            durations.append(job.wall_s)
            left = len(todo) - index
            eta = (f'; about {left * sum(durations) / len(durations) / max(args.jobs, 1):.0f} s left'
                   if left else '')
            colour = 'green' if job.status == 'done' else 'red'
            progress.console.print(
                f'[{colour}]{job.status}[/] {job.config.stem} seed {job.seed} in {job.wall_s:.1f} s '
                f'(train {job.train_s or 0:.1f} s, test {job.test_s or 0:.1f} s) {job.first_metric}{eta}'
                + (f'\n  {job.reason}' if job.reason else ''), highlight=False)
            progress.advance(task)
    # The summary is one line per run: print it at least 132 columns wide even when piped (80 default).
    make_console(min_width=132).print(_summary(runs))
    failed = [r for r in runs if r.status == 'failed']
    code = 1 if failed else 0
    if not args.no_leaderboard:
        from .leaderboard import generate, readme_for
        code = max(code, generate(args.results, args.leaderboard_out, console=console,
                                  readme=readme_for(args.leaderboard_out, None)))
    if failed:
        console.print(f'[red]{len(failed)} of {len(runs)} run(s) failed[/]; see the notes above',
                      highlight=False)
    return code


def preflight(configs: list[Path], args: argparse.Namespace, console: Console) -> bool:
    """``csa-bench doctor`` on a real-data suite's configs (annotations parsed, weights, GPU, disk);
    False (and every fix printed) when a required check fails, before anything runs."""
    from csa_bench.engine.doctor import run_doctor

    from .doctor import print_reports

    console.print(f'preflight: checking {len(configs)} config(s) (data, weights, GPU, disk); --no-doctor skips it',
                  highlight=False)
    return print_reports(run_doctor(configs, work_dir=args.work_dir), Console(width=max(console.width, 160)))


# ----------------------------------------------------------------------------- --verify
def _committed(results: Path, stem: str) -> list[dict]:
    """The valid committed records of one config (``<results>/<stem>/seed*.json``); invalid ones are an error."""
    from csa_bench.results import ResultError, load_result

    records = []
    for path in sorted((results / stem).glob('seed*.json')):
        try:
            records.append(load_result(path))
        except ResultError as err:
            raise CliError(f'--verify: {err}') from err
    return records


def verify(args: argparse.Namespace, configs: list[Path], console: Console) -> int:
    """``--verify``: re-run every committed (config, seed) into ``--verify-out``, compare, print a summary.

    The comparison rules are :mod:`csa_bench.engine.verify`'s; returns 1 when any row is not reproduced.
    """
    import tempfile

    from csa_bench.engine.verify import compare_row
    from csa_bench.results import load_result

    results = Path(args.results)
    out = Path(args.verify_out) if args.verify_out else Path(tempfile.mkdtemp(prefix='csa-bench-verify-'))
    if out.resolve() == results.resolve() or results.resolve() in out.resolve().parents:
        raise CliError(f'--verify-out {out} lies inside --results {results}: the committed results must not be '
                       'overwritten; choose another folder')
    # Rows whose files record no seed cannot be re-run as they were: they are not verifiable.
    committed = {c.stem: recs for c in configs
                 if (recs := _committed(results, c.stem)) and all(r['seed'] is not None for r in recs)}
    if not committed:
        raise CliError(f'--verify: no committed results (with seeds) under {results}/ for the selected configs')
    configs = [c for c in configs if c.stem in committed]
    wanted = {stem: {r['seed'] for r in recs} for stem, recs in committed.items()}
    # Plan enough seeds (config seed + 0..N-1) to cover every committed seed; keep only those.
    bases = {r.config.stem: r.seed for r in plan_runs(configs, 1, out / 'results', out / 'work', args.cfg_options)}
    needed = max(max(seeds) - bases[stem] + 1 for stem, seeds in wanted.items())
    runs = [r for r in plan_runs(configs, max(needed, 1), out / 'results', out / 'work', args.cfg_options, True)
            if r.seed in wanted[r.config.stem]]
    console.print(f'verify: re-running {len(runs)} committed run(s) of {len(configs)} row(s) into {out}',
                  highlight=False)
    failures: dict[str, dict[int, str]] = {}
    for job in _jobs(runs, args.jobs, args.threads):
        colour = 'green' if job.status == 'done' else 'red'
        console.print(f'[{colour}]{job.status}[/] {job.config.stem} seed {job.seed} in {job.wall_s:.1f} s '
                      f'{job.first_metric}' + (f'\n  {job.reason}' if job.status == 'failed' else ''),
                      highlight=False)
        if job.status == 'failed':
            failures.setdefault(job.config.stem, {})[job.seed] = job.reason
    verdicts = []
    for stem, recs in sorted(committed.items()):
        rerun = {r.seed: (load_result(r.result) if r.status == 'done' and r.result.is_file() else None)
                 for r in runs if r.config.stem == stem}
        verdicts.append(compare_row(stem, recs, rerun, failures.get(stem)))
    table = Table(title=f'reproduce --verify: re-runs in {out} against {results}')
    for name in ('row', 'seeds', 'metric', 'committed [95% interval]', 're-run', 'verdict', 'note'):
        table.add_column(name, overflow='fold')
    for v in verdicts:
        interval = f' [{v.interval.low:.1f}, {v.interval.high:.1f}]' if v.interval else ''
        committed_text = '' if v.committed is None else f'{v.committed:.2f}{interval}'
        colour = 'green' if v.passed else 'red'
        table.add_row(v.row, ','.join(map(str, v.seeds)), v.metric, committed_text,
                      '' if v.rerun is None else f'{v.rerun:.2f}', f'[{colour}]{v.status}[/]', v.note)
    make_console(min_width=160).print(table)
    bad = [v for v in verdicts if not v.passed]
    console.print(f'{len(verdicts) - len(bad)} of {len(verdicts)} row(s) reproduced (identical or inside the '
                  'committed 95% interval)' + (f'; not reproduced: {", ".join(v.row for v in bad)}' if bad else ''),
                  highlight=False)
    return 1 if bad else 0
