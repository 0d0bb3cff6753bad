"""Downloading and unpacking a dataset release: resumable HTTP downloads, checksums, safe extraction.

Used by ``csa-bench data prepare``; the dataset-specific steps (which archives, conversions, frame
extraction) belong to the format tools in ``DATA_TOOLS`` (``archives()``, ``prepare(root)``).

Rules:
- **Downloads** go to ``<out>/downloads/<archive name>``, streamed into ``<name>.part``. An
  interrupted transfer keeps its ``.part``; the next run asks for the rest with an HTTP ``Range``
  header (a server that ignores it sends the whole file again, which restarts the ``.part``).
  Only ``http(s)`` URLs are accepted.
- **Checksums**: when a size or sha256 is known (published, or given with ``--checksums``), the
  finished ``.part`` is checked before it becomes ``<name>``. A mismatch is an error and the
  ``.part`` is renamed ``<name>.corrupt`` (kept for inspection, never resumed: appending to wrong
  bytes cannot fix them); the next run downloads from scratch.
- **Extraction** (tar, tar.gz, zip) refuses the whole archive, before writing anything, when a
  member has an absolute path, a ``..`` component, is a device or fifo, or is a link whose target
  leaves the output folder (zip links are refused outright). A file the archive would overwrite is
  refused unless an earlier, interrupted extraction of the same archive wrote it.
- **Progress** is recorded in ``<out>/.csa_bench_prepare.state`` (JSON) (archives verified and extracted,
  steps done), so a re-run skips finished work.
"""
from __future__ import annotations

import hashlib
import json
import os
import stat
import tarfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

#: Progress of ``data prepare`` in the output folder (module docstring); JSON, but not named ``.json``:
#: top-level ``.json`` files are part of a data root's annotation checksum (``csa_bench.results``), and
#: this record of how the files were fetched must not change the identity of the data.
STATE_FILE = '.csa_bench_prepare.state'
DOWNLOADS = 'downloads'
_CHUNK = 1 << 20


class PrepareError(RuntimeError):
    """A download, checksum or archive problem; the message names the file and what to do."""


@dataclass(frozen=True)
class Archive:
    """One file of a dataset release.

    Attributes:
        name: the official file name (also its name under ``<out>/downloads/``).
        sha256: published digest, or ``None``.
        size: published size in bytes, or ``None``.
        strip_top: drop one leading folder shared by every member (archives that wrap the tree).
    """

    name: str
    sha256: str | None = None
    size: int | None = None
    strip_top: bool = False


# ----------------------------------------------------------------------------- download
def _verify(path: Path, sha256: str | None, size: int | None) -> str | None:
    """An error line when ``path`` does not have the expected size / sha256, else ``None``."""
    actual = path.stat().st_size
    if size is not None and actual != size:
        return f'{path}: {actual} bytes, expected {size}'
    if sha256 is not None:
        digest = hashlib.sha256()
        with open(path, 'rb') as handle:
            while block := handle.read(_CHUNK):
                digest.update(block)
        if digest.hexdigest() != sha256.lower():
            return f'{path}: sha256 {digest.hexdigest()}, expected {sha256.lower()}'
    return None


def download(url: str, dest: str | os.PathLike, sha256: str | None = None, size: int | None = None,
             timeout: float = 60.0, log: Callable[[str], None] = print) -> Path:
    """Fetch ``url`` into ``dest``, resuming ``dest.part`` (rules in the module docstring).

    Raises:
        PrepareError: bad URL scheme, HTTP error, interrupted transfer (the ``.part`` is kept),
            size or sha256 mismatch (the ``.part`` becomes ``.corrupt``).
    """
    dest = Path(dest)
    if not url.startswith(('http://', 'https://')):
        raise PrepareError(f'{url}: only http(s) URLs are downloaded')
    if dest.is_file():
        return dest   # verified before it was renamed from .part
    part = dest.with_name(dest.name + '.part')
    dest.parent.mkdir(parents=True, exist_ok=True)
    offset = part.stat().st_size if part.is_file() else 0
    request = urllib.request.Request(url, headers={'Range': f'bytes={offset}-'} if offset else {})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 (scheme checked above)
    except urllib.error.HTTPError as err:
        if err.code == 416 and offset:   # nothing left to send: the .part is already whole
            response = None
        else:
            raise PrepareError(f'{url}: HTTP {err.code} {err.reason}; check --url and re-run') from None
    except (urllib.error.URLError, OSError) as err:
        raise PrepareError(f'{url}: cannot connect ({getattr(err, "reason", err)}); re-run to resume '
                           f'({offset} bytes kept in {part})') from None
    if response is not None:
        with response:
            resumed = offset and response.status == 206
            if resumed:
                start = response.headers.get('Content-Range', '').split(' ')[-1].split('-')[0]
                if start != str(offset):
                    raise PrepareError(f'{url}: asked for bytes {offset}- but the server sent '
                                       f'{response.headers.get("Content-Range")!r}; delete {part} and re-run')
            log(f'{"resuming" if resumed else "downloading"} {url} -> {dest}'
                + (f' from byte {offset}' if resumed else ''))
            # http.client returns short reads silently when the connection drops: count the bytes.
            expected = response.headers.get('Content-Length')
            received = 0
            try:
                with open(part, 'ab' if resumed else 'wb') as out:
                    while block := response.read(_CHUNK):
                        out.write(block)
                        received += len(block)
                if expected is not None and received < int(expected):
                    raise ConnectionError(f'connection closed after {received} of {expected} bytes')
            except (OSError, urllib.error.URLError, ConnectionError) as err:
                raise PrepareError(f'{url}: download interrupted at {part.stat().st_size} bytes ({err}); '
                                   f'{part} is kept: re-run to resume') from None
            except Exception as err:   # http.client.IncompleteRead and friends
                if type(err).__module__ != 'http.client':
                    raise
                raise PrepareError(f'{url}: download interrupted at {part.stat().st_size} bytes '
                                   f'({type(err).__name__}); {part} is kept: re-run to resume') from None
    problem = _verify(part, sha256, size)
    if problem is not None:
        corrupt = dest.with_name(dest.name + '.corrupt')
        os.replace(part, corrupt)
        raise PrepareError(f'{problem}; the download is kept as {corrupt} (not resumed); re-run to download it '
                           'again, or check the checksum you gave')
    os.replace(part, dest)
    return dest


# ----------------------------------------------------------------------------- extraction
def _safe_name(name: str, archive: Path) -> PurePosixPath:
    path = PurePosixPath(name.replace('\\', '/'))
    if path.is_absolute() or (path.parts and ':' in path.parts[0]) or '..' in path.parts:
        raise PrepareError(f'{archive}: member {name!r} would be written outside the output folder '
                           '(absolute path or ..); the archive is refused, nothing was extracted')
    return path


def _link_stays_inside(member: PurePosixPath, target: str, hard: bool) -> bool:
    target_path = PurePosixPath(target)
    if target_path.is_absolute():
        return False
    # A symlink resolves against its own folder; a tar hard link names a member of the archive.
    parts = [] if hard else list(member.parent.parts)
    for part in target_path.parts:
        if part == '..':
            if not parts:
                return False
            parts.pop()
        elif part != '.':
            parts.append(part)
    return True


def _strip(path: PurePosixPath, top: str | None) -> PurePosixPath | None:
    if top is None:
        return path
    rest = path.parts[1:]
    return PurePosixPath(*rest) if rest else None


def _common_top(names: Iterable[PurePosixPath]) -> str | None:
    tops = {p.parts[0] for p in names if p.parts}
    return tops.pop() if len(tops) == 1 else None


def _plan_tar(handle: tarfile.TarFile, archive: Path, strip_top: bool) -> list[tuple[tarfile.TarInfo, PurePosixPath]]:
    """``[(member renamed to its output path, output path)]`` after the checks of the module docstring."""
    members = handle.getmembers()
    names = [_safe_name(m.name, archive) for m in members]
    top = _common_top(names) if strip_top else None
    plan = []
    for member, name in zip(members, names, strict=True):
        if not (member.isfile() or member.isdir() or member.issym() or member.islnk()):
            raise PrepareError(f'{archive}: member {member.name!r} is a device or fifo; the archive is refused')
        if (member.issym() or member.islnk()) and not _link_stays_inside(name, member.linkname, member.islnk()):
            raise PrepareError(f'{archive}: member {member.name!r} links to {member.linkname!r}, outside the output '
                               'folder; the archive is refused, nothing was extracted')
        rel = _strip(name, top)
        if rel is None or not rel.parts:
            continue
        renamed = member.replace(name=rel.as_posix(), deep=False)
        if member.islnk():   # a hard link names another member: strip the same top folder
            link = _strip(_safe_name(member.linkname, archive), top)
            if link is None or not link.parts:
                raise PrepareError(f'{archive}: member {member.name!r} links to the archive\'s top folder; refused')
            renamed = renamed.replace(linkname=link.as_posix(), deep=False)
        plan.append((renamed, rel))
    return plan


def _plan_zip(handle: zipfile.ZipFile, archive: Path, strip_top: bool) -> list[tuple[zipfile.ZipInfo, PurePosixPath]]:
    infos = handle.infolist()
    names = [_safe_name(i.filename, archive) for i in infos]
    top = _common_top(names) if strip_top else None
    plan = []
    for info, name in zip(infos, names, strict=True):
        if stat.S_ISLNK(info.external_attr >> 16):
            raise PrepareError(f'{archive}: member {info.filename!r} is a symbolic link; the archive is refused')
        if (rel := _strip(name, top)) is not None and rel.parts:
            plan.append((info, rel))
    return plan


def _inside(root: Path, target: Path) -> bool:
    real = Path(os.path.realpath(target))
    return real == root or root in real.parents


def extract(archive: str | os.PathLike, out: str | os.PathLike, strip_top: bool = False,
            overwrite: bool = False) -> int:
    """Unpack a tar/tar.gz/zip ``archive`` into ``out`` after checking every member (module docstring).

    Args:
        overwrite: allow replacing existing files (only for a resumed extraction of this archive).

    Returns:
        The number of files written.
    """
    archive, out = Path(archive), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    root = Path(os.path.realpath(out))
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as handle:
            plan = _plan_zip(handle, archive, strip_top)
            _refuse_overwrite(archive, root, [(rel, not i.is_dir()) for i, rel in plan], overwrite)
            for info, rel in plan:
                target = root / rel
                if not _inside(root, target.parent if not info.is_dir() else target):
                    raise PrepareError(f'{archive}: {rel} resolves outside {out} (a link in the way); stopped')
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                if target.is_symlink():   # only reachable when resuming (overwrite): never write through a link
                    target.unlink()
                with handle.open(info) as src, open(target, 'wb') as dst:
                    while block := src.read(_CHUNK):
                        dst.write(block)
            return sum(not i.is_dir() for i, _ in plan)
    try:
        handle = tarfile.open(archive)
    except tarfile.TarError as err:
        raise PrepareError(f'{archive}: not a tar or zip archive ({err}); delete it and re-run') from None
    with handle:
        try:
            plan = _plan_tar(handle, archive, strip_top)
        except tarfile.TarError as err:
            raise PrepareError(f'{archive}: damaged tar archive ({err}); delete it and re-run') from None
        _refuse_overwrite(archive, root, [(rel, not m.isdir()) for m, rel in plan], overwrite)
        written = 0
        for member, rel in plan:
            target = root / rel
            if not _inside(root, target.parent):
                raise PrepareError(f'{archive}: {rel} resolves outside {out} (a link in the way); stopped')
            if overwrite and (target.is_file() or target.is_symlink()) and not member.isdir():
                target.unlink()
            # 'data' filter: the standard library's own second line of defence (no device files,
            # no links leaving the folder, no setuid bits).
            handle.extract(member, root, filter='data')
            written += member.isfile()
        return written


def _refuse_overwrite(archive: Path, root: Path, entries: list[tuple[PurePosixPath, bool]], overwrite: bool) -> None:
    if overwrite:
        return
    # lexists: a dangling symbolic link planted where a file will go is a clash too (writing would follow it).
    clash = [rel for rel, is_file in entries if is_file and os.path.lexists(root / rel)]
    if clash:
        raise PrepareError(f'{archive}: would overwrite {len(clash)} existing file(s) in {root} '
                           f'(first: {clash[0]}) that it did not write; nothing was extracted: choose an empty --out '
                           'or move them away')


# ----------------------------------------------------------------------------- state
def read_state(out: Path) -> dict:
    """The progress record of ``out`` (empty when absent); a malformed one is an error."""
    path = out / STATE_FILE
    if not path.is_file():
        return {'archives': {}, 'steps': []}
    try:
        state = json.loads(path.read_text(encoding='utf-8'))
    except ValueError as err:
        raise PrepareError(f'{path}: not valid JSON ({err}); delete it to start the preparation again') from None
    if not isinstance(state, dict) or not isinstance(state.get('archives'), dict):
        raise PrepareError(f'{path}: unexpected content; delete it to start the preparation again')
    state.setdefault('steps', [])
    return state


def write_state(out: Path, state: dict) -> None:
    from csa_bench.utils import write_json_atomic

    write_json_atomic(out / STATE_FILE, state)


def read_checksums(path: str | os.PathLike) -> dict[str, str]:
    """``{name: sha256}`` from a ``sha256sum``-style file (``<hex>  <name>`` per line)."""
    found = {}
    for number, line in enumerate(Path(path).read_text(encoding='utf-8').splitlines(), start=1):
        if not line.strip() or line.startswith('#'):
            continue
        parts = line.split()
        if len(parts) != 2 or len(parts[0]) != 64 or any(c not in '0123456789abcdefABCDEF' for c in parts[0]):
            raise PrepareError(f'{path}:{number}: expected "<64 hex sha256>  <file name>", got {line!r}')
        found[parts[1].lstrip('*')] = parts[0].lower()
    return found


def fetch_and_extract(archives: list[Archive], out: Path, base_url: str | None, checksums: dict[str, str] | None = None,
                      delete_archives: bool = False, log: Callable[[str], None] = print) -> dict:
    """Download (unless already under ``out/downloads``), verify and extract each archive; returns the state.

    A user-given checksum replaces the published one (and its size, which belongs to that release).
    """
    state = read_state(out)
    checksums = checksums or {}
    for item in archives:
        entry = state['archives'].get(item.name, {})
        if entry.get('extracted'):
            log(f'{item.name}: already extracted')
            continue
        sha256, size = (checksums[item.name], None) if item.name in checksums else (item.sha256, item.size)
        local = out / DOWNLOADS / item.name
        if not local.is_file():
            if base_url is None:
                raise PrepareError(f'{local} not found and no --url given: download {item.name} there yourself '
                                   'and re-run, or pass --url BASE')
            download(base_url.rstrip('/') + '/' + item.name, local, sha256, size, log=log)
        elif not entry.get('verified'):
            problem = _verify(local, sha256, size)
            if problem is not None:
                raise PrepareError(f'{problem}; replace the file (or give its checksum with --checksums) and re-run')
        entry.update(verified=True, sha256_checked=sha256 is not None)
        resuming = entry.get('extracting', False)
        entry['extracting'] = True
        state['archives'][item.name] = entry
        write_state(out, state)
        count = extract(local, out, strip_top=item.strip_top, overwrite=resuming)
        entry.update(extracting=False, extracted=True, files=count)
        write_state(out, state)
        log(f'{item.name}: extracted {count} file(s)')
        if delete_archives:
            local.unlink()
    return state
