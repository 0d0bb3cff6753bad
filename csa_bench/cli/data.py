"""``csa-bench data synth|check|prepare``: generate the synthetic benchmark, validate a dataset root,
download and prepare a real one (:mod:`csa_bench.datasets.prepare`; docs/data_preparation.md).

The format tools come from ``DATA_TOOLS`` (registered by dataset plugins, loaded here through
:func:`csa_bench.plugin_loader.load_plugins`; the core never imports a plugin by name).

``synth`` never deletes what it did not write: ``.csa_bench_synth.manifest`` (JSON) lists the files
it wrote (relative paths, size, sha256), and a re-run (another seed or size, or ``--force``)
replaces or removes only those; the user's own files in the folder stay. A non-empty folder it did
not write is refused, ``--force`` included (:mod:`csa_bench.utils.owned_tree`). The marker
``.csa_bench_synth.json`` (format, seed, size, generator version, counts) is written last: with a
complete manifest and the same arguments the output is reused. The marker is part of the
annotation checksum of result files (:func:`csa_bench.results.annotation_checksum` reads top-level
``.json``); the manifest, whose media hashes may vary with the image/video library, is not.
``check`` prints a summary and returns 1 when it finds errors.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from rich.table import Table

from ._console import make_console
from .errors import CliError

#: Written last (atomically) by ``synth``: the arguments and counts of a complete output.
MARKER = '.csa_bench_synth.json'
#: What ``synth`` wrote (:mod:`csa_bench.utils.owned_tree`); only these files are ever replaced.
MANIFEST = '.csa_bench_synth.manifest'
#: Bumped when the generator's output changes, so that an old tree is regenerated
#: (2: synthetic MovingFashion with 5x the shops; 3: test splits sized for ±3-point R@1 intervals,
#: 40-image LPR4M live galleries, several test videos per MovingFashion product).
GENERATOR_VERSION = 3
FORMATS = ('lpr4m', 'movingfashion')


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser('data', help='generate synthetic data or check a dataset root')
    sub = parser.add_subparsers(dest='data_command', metavar='ACTION', required=True)
    synth = sub.add_parser('synth', help='write the synthetic benchmark in a real on-disk format')
    synth.add_argument('--format', required=True, choices=FORMATS, help='on-disk format to write')
    synth.add_argument('--out', required=True, type=Path, help='output directory')
    synth.add_argument('--seed', type=int, default=0, help='random seed (same seed, same annotations)')
    synth.add_argument('--size', default='small', choices=('tiny', 'small', 'medium'), help='dataset size')
    synth.add_argument('--force', action='store_true',
                       help='regenerate even when a complete output exists (only the files synth wrote are '
                       'replaced; a folder it did not create is still refused)')
    check = sub.add_parser('check', help='validate a dataset root (files, rows, ids, galleries)')
    check.add_argument('root', type=Path, help='dataset root')
    check.add_argument('--format', required=True, choices=FORMATS, help='on-disk format of ROOT')
    check.add_argument('--workers', type=int, default=2, help='worker processes opening media files')
    check.add_argument('--max-errors', type=int, default=30, help='errors printed (all are counted)')
    check.add_argument('--allow-outside-root', action='store_true',
                       help='accept annotation paths that resolve outside ROOT (.., absolute, symlinks); '
                       'refused by default')
    prepare = sub.add_parser('prepare', help='download, verify, extract and prepare a real dataset '
                             '(docs/data_preparation.md)')
    prepare.add_argument('format', choices=FORMATS, help='dataset to prepare')
    prepare.add_argument('--out', required=True, type=Path, help='dataset root to fill (archives go to OUT/downloads)')
    prepare.add_argument('--url', default=None, metavar='BASE',
                         help='base URL the archives are downloaded from (BASE/<archive name>); default: the '
                         "official one where there is a direct one (LPR4M); MovingFashion's is a share page, so "
                         'without --url its archive must already be in OUT/downloads')
    prepare.add_argument('--only', nargs='+', default=None, metavar='ARCHIVE',
                         help='fetch only these archives (official names, e.g. query.tar gallery.tar annotations.tar)')
    prepare.add_argument('--checksums', type=Path, default=None, metavar='FILE',
                         help='sha256sum-style file ("<sha256>  <archive name>" per line) overriding or adding '
                         'checksums')
    prepare.add_argument('--delete-archives', action='store_true',
                         help='delete each downloaded archive once it is extracted')
    prepare.add_argument('--frames', choices=('auto', 'ffmpeg', 'decord'), default='auto',
                         help='MovingFashion frame extraction: ffmpeg (the official tool) when on the PATH, else '
                         'decord (default %(default)s)')
    return parser


def get_tool(name: str):
    """The ``DATA_TOOLS`` entry for a format, after loading the plugins."""
    from csa_bench.plugin_loader import load_plugins
    from csa_bench.registry import DATA_TOOLS

    load_plugins()
    tool = DATA_TOOLS.get(name)
    if tool is None:
        raise CliError(f'no data tool registered for format {name!r} (known: {sorted(DATA_TOOLS.module_dict)}); '
                       'is the dataset plugin package listed in custom_imports?')
    return tool


def _read_marker(out: Path) -> dict | None:
    try:
        found = json.loads((out / MARKER).read_text(encoding='utf-8'))
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def synth(out: Path, fmt: str, seed: int, size: str, force: bool = False) -> dict:
    """Generate (or reuse) a synthetic tree; returns the marker content (module docstring).

    Raises:
        CliError: ``out`` holds files that ``synth`` did not write where it would write (nothing changed).
    """
    from csa_bench.utils import write_json_atomic
    from csa_bench.utils.owned_tree import OwnedTreeError, foreign_entries, is_complete, read_manifest, replace_tree

    out = Path(out)
    console = make_console()
    wanted = {'format': fmt, 'seed': seed, 'size': size, 'generator_version': GENERATOR_VERSION}
    hint = 'choose an empty or new --out'
    try:
        manifest = read_manifest(out, MANIFEST) if out.is_dir() else None
        marker = _read_marker(out) if out.is_dir() else None
        matches = marker is not None and {k: marker.get(k) for k in wanted} == wanted
        # A marker without a manifest: an older csa_bench marked a complete tree but listed no files.
        if not force and matches and (manifest is None or is_complete(out, manifest)):
            console.print(f'[green]reusing[/] {out} (complete {fmt} data, seed {seed}, size {size})')
            return marker
        if manifest is None and marker is not None and foreign_entries(out, MANIFEST, (MARKER,)):
            raise OwnedTreeError(f'{out} has a {MARKER} but no {MANIFEST} (written by an older csa_bench, or the '
                                 'list was deleted), so its files cannot be told from yours; nothing was changed; '
                                 f'delete it yourself or {hint}')
        tool = get_tool(fmt)
        start = time.perf_counter()
        content, kept = replace_tree(out, MANIFEST, wanted, lambda folder: tool.synthesize(folder, seed, size),
                                     hint, reserved=(MARKER,))
    except OwnedTreeError as err:
        raise CliError(str(err)) from None
    summary = content['summary']
    marker = dict(wanted, summary=summary)
    write_json_atomic(out / MARKER, marker)
    console.print(f'[green]wrote[/] {fmt} synthetic data ({size}, seed {seed}) to {out} in '
                  f'{time.perf_counter() - start:.1f}s: ' + ', '.join(f'{k} {v}' for k, v in summary.items())
                  + (f'; left {len(kept)} entr(ies) it did not write untouched: {", ".join(kept[:5])}'
                     if kept else ''), highlight=False)
    return marker


def print_report(report, max_errors: int = 30) -> None:
    """Rich summary of a :class:`~csa_bench.datasets.check.CheckReport`."""
    from rich.markup import escape

    console = make_console()
    counts = Table(title=f'{report.format} at {report.root} ({report.layout})')
    counts.add_column('split/role')
    counts.add_column('count', justify='right')
    for key, value in sorted(report.counts.items()):
        counts.add_row(key, str(value))
    counts.add_row('media files checked', str(report.files_checked))
    console.print(counts)
    if report.per_group:
        groups = Table(title='per livestream / source')
        roles = sorted({r for slot in report.per_group.values() for r in slot})
        groups.add_column('group')
        for role in roles:
            groups.add_column(role, justify='right')
        for group, slot in sorted(report.per_group.items()):
            groups.add_row(group, *(str(slot.get(r, 0)) for r in roles))
        console.print(groups)
    for split, stats in report.frames_per_clip.items():
        console.print(f'frames per clip ({split}): min {stats["min"]}, mean {stats["mean"]}, max {stats["max"]}')
    for line in report.warnings[:max_errors]:
        console.print(f'[yellow]warning:[/] {escape(line)}', highlight=False)
    for line in report.errors[:max_errors]:
        console.print(f'[bold red]error:[/] {escape(line)}', highlight=False)
    if len(report.errors) > max_errors:
        console.print(f'… and {len(report.errors) - max_errors} more errors')
    verdict = '[green]OK[/]' if report.ok else f'[bold red]FAILED[/] ({len(report.errors)} errors)'
    console.print(f'{verdict}, {len(report.warnings)} warnings')


def prepare(fmt: str, out: Path, url: str | None = None, only: list[str] | None = None,
            checksums: Path | None = None, delete_archives: bool = False, frames: str = 'auto') -> dict:
    """Download (resumable), verify, extract, then run the format's own preparation; returns the state.

    Raises:
        CliError: unknown archive in ``only``, or any :class:`~csa_bench.datasets.prepare.PrepareError`.
    """
    from csa_bench.datasets.prepare import PrepareError, fetch_and_extract, read_checksums, read_state, write_state

    tool = get_tool(fmt)
    archives = list(tool.archives)
    if only:
        known = {a.name for a in archives}
        unknown = [name for name in only if name not in known]
        if unknown:
            raise CliError(f'--only: {", ".join(unknown)} is not a {fmt} archive (official names: '
                           f'{", ".join(sorted(known))})')
        archives = [a for a in archives if a.name in only]
    console = make_console()
    out = Path(out)
    base = url or tool.default_url
    try:
        sums = read_checksums(checksums) if checksums else None
        if base is None and not all((out / 'downloads' / a.name).is_file() for a in archives):
            missing = [a.name for a in archives if not (out / 'downloads' / a.name).is_file()]
            raise PrepareError(f'{fmt} has no direct download URL: get {", ".join(missing)} from '
                               f'{tool.source_page} into {out / "downloads"}/ and re-run, or pass --url BASE')
        out.mkdir(parents=True, exist_ok=True)
        state = fetch_and_extract(archives, out, base, sums, delete_archives,
                                  log=lambda line: console.print(line, highlight=False, soft_wrap=True))
        kwargs = {} if fmt != 'movingfashion' else {'use_ffmpeg': {'auto': None, 'ffmpeg': True,
                                                                  'decord': False}[frames]}
        result = tool.prepare(out, log=lambda line: console.print(line, highlight=False, soft_wrap=True),
                              **kwargs)
        state = read_state(out)
        state['prepared'] = {'format': fmt, **result}
        write_state(out, state)
    except PrepareError as err:
        raise CliError(str(err)) from None
    console.print(f'[green]prepared[/] {fmt} in {out}; check it with `csa-bench data check {out} --format {fmt}`',
                  highlight=False)
    return state


def refuse_other_format(root: Path, fmt: str, tool) -> None:
    """Raise :class:`CliError` when ``root`` holds none of ``fmt``'s layouts, naming the format it does look
    like (each ``DATA_TOOLS`` entry's ``detect(root) -> layout | None``), or what ``fmt`` expects.

    A tool without ``detect`` (a plugin's own format) is checked as before."""
    from csa_bench.registry import DATA_TOOLS

    if not hasattr(tool, 'detect') or tool.detect(root) is not None:
        return
    for name, other in sorted(DATA_TOOLS.module_dict.items()):
        layout = other.detect(root) if name != fmt and hasattr(other, 'detect') else None
        if layout is not None:
            raise CliError(f'{root} is not {fmt} data; it looks like {name} ({layout} layout): run '
                           f'`csa-bench data check {root} --format {name}`')
    expected = getattr(tool, 'layouts', 'its annotation files')
    raise CliError(f'{root} holds no {fmt} annotations: expected {expected}; for synthetic data run '
                   f'`csa-bench data synth --format {fmt} --out {root}`')


def run(args: argparse.Namespace) -> int:
    if args.data_command == 'prepare':
        prepare(args.format, args.out, args.url, args.only, args.checksums, args.delete_archives, args.frames)
        return 0
    if args.data_command == 'synth':
        synth(Path(args.out), args.format, args.seed, args.size, getattr(args, 'force', False))
        return 0
    root = Path(args.root)
    if not root.is_dir():
        raise CliError(f'{root}: dataset root not found')
    tool = get_tool(args.format)
    refuse_other_format(root, args.format, tool)
    report = tool.check(root, workers=args.workers,
                        allow_outside_root=getattr(args, 'allow_outside_root', False))
    print_report(report, getattr(args, 'max_errors', 30))
    return 0 if report.ok else 1
