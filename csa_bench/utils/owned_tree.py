"""Generated file trees that share a folder with the user's files: write, record, replace only ours.

``csa-bench data synth --out DIR`` must never delete what it did not write. A generator runs in a
staging folder inside ``DIR``; its files are then moved into place and listed, with their size and
sha256, in a manifest (``DIR/<manifest name>``, JSON, written atomically; the caller picks a name
its own checksums skip, since media bytes may differ between library versions). A later run
replaces or removes only the files that manifest lists, and removes only the folders it created
once they are empty; every other file in ``DIR`` is left alone. A non-empty ``DIR`` without a manifest, or a new
file that would land on a path the manifest does not list, is refused before anything changes.

Manifest (``manifest_version`` 1)::

    {<header keys: format, seed, size, generator_version, ...>, "summary": {...},
     "manifest_version": 1, "complete": bool,
     "files": {"<relative path>": {"size": int, "sha256": str}}, "dirs": ["<relative folder>", ...]}

A listed file whose content no longer matches its sha256 (the user edited it) is not ours any
more: the run is refused before anything changes.

Crash safety: the new files are first complete in the staging folder; before any of them is moved,
the manifest is rewritten with ``complete: false`` and the union of the old and new lists (and a
path's ``previous`` record where both have it), so a kill mid-swap leaves a tree whose every
generated file is still listed and recognised (the next run replaces it);
the final manifest (``complete: true``) is written last. A staging folder left by a killed run
(``.csa_bench_synth-staging-*``) is ours by name and removed by the next run.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from .atomic import write_json_atomic

MANIFEST_VERSION = 1
STAGING_PREFIX = '.csa_bench_synth-staging-'


class OwnedTreeError(RuntimeError):
    """A folder we must not change (or a manifest we cannot trust); the message names it and what to do."""


def file_record(path: Path) -> dict:
    """``{'size', 'sha256'}`` of a file."""
    digest = hashlib.sha256()
    with open(path, 'rb') as handle:
        for block in iter(lambda: handle.read(1 << 20), b''):
            digest.update(block)
    return {'size': path.stat().st_size, 'sha256': digest.hexdigest()}


def _safe_rel(rel: object, manifest: Path) -> str:
    """A manifest entry must be a plain relative path below the folder (a hostile one could name ``../``)."""
    if not isinstance(rel, str) or not rel or os.path.isabs(rel) or os.path.normpath(rel) != rel \
            or rel.split(os.sep)[0] == os.pardir or rel == os.curdir:
        raise OwnedTreeError(f'{manifest}: entry {rel!r} is not a plain relative path inside the folder; the '
                             'manifest was not written by csa_bench: delete the folder yourself or choose another')
    return rel


def read_manifest(out: Path, name: str) -> dict | None:
    """The manifest in ``out``, or None when there is none.

    Raises:
        OwnedTreeError: it is unreadable, or lists paths outside ``out``.
    """
    path = out / name
    if not path.is_file():
        return None
    try:
        content = json.loads(path.read_text(encoding='utf-8'))
    except (OSError, ValueError) as exc:
        raise OwnedTreeError(f'{path}: unreadable manifest ({exc}); delete the folder yourself or choose '
                             'another') from None
    if not isinstance(content, dict):
        raise OwnedTreeError(f'{path}: the manifest is not a JSON object; delete the folder yourself or choose '
                             'another')
    files, dirs = content.get('files'), content.get('dirs', [])
    if not isinstance(files, dict) or not isinstance(dirs, list):
        raise OwnedTreeError(f'{path}: "files" must be an object and "dirs" a list; the manifest was not written '
                             'by csa_bench: delete the folder yourself or choose another')
    for rel in [*files, *dirs]:
        _safe_rel(rel, path)
    return content


def is_complete(out: Path, manifest: dict) -> bool:
    """The manifest says complete and every file it lists is present with its recorded size."""
    if not manifest.get('complete'):
        return False
    for rel, record in manifest['files'].items():
        try:
            if (out / rel).stat().st_size != record.get('size'):
                return False
        except OSError:
            return False
    return True


def foreign_entries(out: Path, name: str, reserved: tuple[str, ...] = ()) -> list[str]:
    """Top-level entries of ``out`` other than the manifest, the ``reserved`` names and leftover staging."""
    if not out.is_dir():
        return []
    ours = {name, *reserved}
    return sorted(e.name for e in out.iterdir() if e.name not in ours and not e.name.startswith(STAGING_PREFIX))


def _inside(out_real: str, path: Path) -> bool:
    real = os.path.realpath(path)
    return real == out_real or real.startswith(out_real + os.sep)


def _staged_files(staging: Path) -> dict[str, dict]:
    files = {}
    for folder, _, names in os.walk(staging):
        for name in names:
            path = Path(folder) / name
            if path.is_symlink() or not path.is_file():
                raise OwnedTreeError(f'{path}: the generator wrote something other than a regular file')
            files[path.relative_to(staging).as_posix()] = file_record(path)
    return files


def _conflicts(out: Path, new: dict[str, dict], old: set[str], out_real: str) -> list[str]:
    """New files that would overwrite a path we do not own, or be written through a foreign symlink."""
    found = []
    for rel in new:
        target = out / rel
        if (os.path.lexists(target) and (rel not in old or (target.is_dir() and not target.is_symlink()))) \
                or not _inside(out_real, target.parent):
            found.append(rel)
            continue
        parent = target.parent
        while parent != out:   # an existing non-folder on the way (a user's file named like our folder)
            if os.path.lexists(parent) and (parent.is_symlink() or not parent.is_dir()):
                found.append(rel)
                break
            parent = parent.parent
    return found


def _changed(out: Path, manifest: dict) -> list[str]:
    """Listed files whose content is no longer what we wrote (the user edited or replaced them).

    An interim manifest also accepts a path's previous record (``previous``): a kill mid-swap leaves
    some paths with the old content.
    """
    previous = manifest.get('previous', {})
    found = []
    for rel, record in manifest['files'].items():
        path = out / rel
        if not os.path.lexists(path):
            continue
        if path.is_symlink() or not path.is_file():
            found.append(rel)
            continue
        digest = file_record(path)['sha256']
        accepted = {r.get('sha256') for r in (record, previous.get(rel, {})) if isinstance(r, dict)}
        if digest not in accepted:
            found.append(rel)
    return found


def _remove_empty_dirs(out: Path, dirs: set[str]) -> set[str]:
    """rmdir the owned folders that are empty (deepest first); returns those still present."""
    kept = set()
    for rel in sorted(dirs, key=lambda d: d.count('/'), reverse=True):
        path = out / rel
        if not path.is_dir() or path.is_symlink():
            continue
        try:
            path.rmdir()
        except OSError:      # not empty: it holds our new files or the user's
            kept.add(rel)
    return kept


def replace_tree(out: Path, name: str, header: dict, generate: Callable[[Path], dict],
                 refuse_hint: str, reserved: tuple[str, ...] = ()) -> tuple[dict, list[str]]:
    """Generate into ``out``, replacing only the files a previous manifest lists.

    Args:
        out: the output folder (created when missing).
        name: the manifest's file name in ``out``.
        header: what identifies this output (format, seed, size, version); stored in the manifest.
        generate: ``generate(folder) -> summary``: writes the tree under ``folder``.
        refuse_hint: what the user should do when ``out`` is refused (e.g. "choose an empty --out").
        reserved: other top-level names in ``out`` that belong to the caller (e.g. a completion
            marker it writes after this returns); never counted as the user's, never generated, and
            removed just before the first file moves (a tree being replaced is never marked complete).

    Returns:
        ``(manifest, kept)``: the final manifest and the top-level entries of ``out`` not ours.

    Raises:
        OwnedTreeError: ``out`` is not a folder, is non-empty without a manifest (or with one that
            lists no files), or a new file would overwrite one we did not write. Nothing is changed.
    """
    if os.path.lexists(out) and not out.is_dir():
        raise OwnedTreeError(f'{out} exists and is not a folder; {refuse_hint}')
    old = read_manifest(out, name) if out.is_dir() else None
    foreign = foreign_entries(out, name, reserved)
    if old is None and foreign:
        raise OwnedTreeError(f'{out} is not empty and was not written by `csa-bench data synth` (no {name}); '
                             f'nothing was changed; {refuse_hint}')
    old_files = dict(old['files']) if old else {}
    old_dirs = set(old.get('dirs', [])) if old else set()
    changed = _changed(out, old) if old else []
    if changed:
        raise OwnedTreeError(f'{out / changed[0]} was changed since `csa-bench data synth` wrote it '
                             f'({len(changed)} such file(s)); nothing was changed; move your version away '
                             f'(or delete it) and re-run, or {refuse_hint}')
    out.mkdir(parents=True, exist_ok=True)
    for leftover in out.iterdir():
        if leftover.name.startswith(STAGING_PREFIX) and leftover.is_dir() and not leftover.is_symlink():
            shutil.rmtree(leftover)      # a killed run's staging folder (ours by name)
    out_real = os.path.realpath(out)
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=out))
    try:
        summary = generate(staging)
        new_files = _staged_files(staging)
        if set(new_files) & {name, *reserved}:
            raise OwnedTreeError(f'the generator wrote {sorted(set(new_files) & {name, *reserved})}, names '
                                 'reserved for the manifest and marker')
        clashes = _conflicts(out, new_files, set(old_files), out_real)
        if clashes:
            raise OwnedTreeError(f'{out / clashes[0]} exists and was not written by `csa-bench data synth` '
                                 f'({len(clashes)} such path(s)); nothing was changed; move them away or '
                                 f'{refuse_hint}')
        new_dirs = {parent.as_posix() for rel in new_files for parent in Path(rel).parents if parent != Path('.')}
        created = {d for d in new_dirs if not (out / d).is_dir()}
        interim = dict(header, summary=summary, manifest_version=MANIFEST_VERSION, complete=False,
                       files={**old_files, **new_files}, dirs=sorted(old_dirs | created),
                       previous={rel: old_files[rel] for rel in new_files if rel in old_files})
        write_json_atomic(out / name, interim)
        for marker in reserved:
            if (out / marker).is_file() and not (out / marker).is_symlink():
                (out / marker).unlink()
        for rel in sorted(new_files):
            target = out / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / rel, target)
        for rel in sorted(set(old_files) - set(new_files)):
            path = out / rel
            if os.path.lexists(path) and not (path.is_dir() and not path.is_symlink()) \
                    and _inside(out_real, path.parent):
                path.unlink()
        dirs = _remove_empty_dirs(out, old_dirs | created)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    manifest = dict(header, summary=summary, manifest_version=MANIFEST_VERSION, complete=True,
                    files=new_files, dirs=sorted(dirs))
    write_json_atomic(out / name, manifest)
    return manifest, foreign_entries(out, name, reserved)
