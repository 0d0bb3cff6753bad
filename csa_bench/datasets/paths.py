"""Keeping annotation paths inside the data root.

Annotation files come from strangers: an entry such as ``../../home/me/.ssh/id_rsa``, an absolute
path, or a path through a symlink that leaves the root would make a loader (and ``data check``)
read files the user never pointed it at. Every loader joins annotation paths through one
:class:`RootPaths` per load, which refuses such entries with the annotation file and line (or JSON
key) unless the user opted in with ``allow_outside_root=True`` (``data check --allow-outside-root``).

The check is cheap enough for the full LPR4M release (millions of frame paths): the ``..`` and
absolute-path test is lexical; symlinks are found with one ``realpath`` per *directory* and one
``scandir`` per directory (its entries' link flags come with the listing), both cached, so a file
costs a dictionary lookup and only a symlinked file is resolved on its own.
"""
from __future__ import annotations

import os

from .parsing import AnnotationError, where

_NO_LINKS: frozenset[str] = frozenset()


class OutsideRootError(AnnotationError):
    """An annotation entry resolves outside the data root (``..``, absolute path or symlink)."""


class RootPaths:
    """Join annotation paths to a data root, refusing those that leave it.

    Args:
        data_root: the dataset root (itself may be a symlink: containment is judged on its real path).
        allow_outside_root: accept entries that leave the root (the user's explicit opt-in).

    The cache lives as long as the object: build one per ``load_data_list`` call.
    """

    def __init__(self, data_root: str | os.PathLike, allow_outside_root: bool = False) -> None:
        self.root = os.fspath(data_root)
        self.allow_outside_root = allow_outside_root
        self._real_root = os.path.realpath(self.root or '.')
        self._dirs: dict[str, bool] = {}            # directory -> inside the real root
        self._links: dict[str, frozenset[str]] = {}  # directory -> names of its symlinked entries

    def join(self, rel: str, source: str | os.PathLike, line: int | None = None, key: str | None = None,
             base: str = '') -> str:
        """``os.path.join(root, base, rel)``, after checking that it stays inside the root.

        Args:
            rel: the path as the annotation file gives it.
            source: the annotation file (for the error message).
            line: its line number (text files), or None.
            key: the JSON key holding the entry (JSON files), or None.
            base: a fixed folder under the root the format puts ``rel`` in (e.g. ``'query'``).

        Returns:
            The joined path, spelled exactly as ``os.path.join`` spells it (not resolved).

        Raises:
            OutsideRootError: ``rel`` is absolute, climbs out with ``..``, or passes through a
                symlink whose target is outside the root; the message names ``source`` and
                ``line``/``key`` and the opt-in.
        """
        rel = str(rel)
        full = os.path.join(self.root, base, rel) if base else os.path.join(self.root, rel)
        if self.allow_outside_root:
            return full
        # Hot path (millions of frames): plain string tests first, normpath only when '..' occurs.
        if '..' in rel or os.path.isabs(rel):
            self._check_lexical(os.path.join(base, rel), rel, source, line, key)
        self._check_links(full, rel, source, line, key)
        return full

    def check(self, path: str | os.PathLike, source: str | os.PathLike, line: int | None = None,
              key: str | None = None) -> str:
        """Check a path built under the root some other way (a listed frame folder or file); returns it.

        Raises:
            OutsideRootError: as :meth:`join`.
        """
        path = os.fspath(path)
        if not self.allow_outside_root:
            rel = os.path.relpath(path, self.root or '.')
            self._check_lexical(rel, rel, source, line, key)
            self._check_links(path, rel, source, line, key)
        return path

    # -- internals ---------------------------------------------------------------------------------
    def _check_lexical(self, joined: str, rel: str, source, line: int | None, key: str | None) -> None:
        if os.path.isabs(rel) or os.path.splitdrive(rel)[0]:
            self._refuse(rel, source, line, key, 'is an absolute path')
        lexical = os.path.normpath(joined)
        if lexical == os.pardir or lexical.startswith(os.pardir + os.sep):
            self._refuse(rel, source, line, key, 'climbs out of the data root with ".."')

    def _check_links(self, full: str, rel: str, source, line: int | None, key: str | None) -> None:
        parent, _, name = full.rpartition(os.sep)
        inside = self._dirs.get(parent)
        if inside is None:
            inside = self._dir_inside(parent)
        if not inside:
            self._refuse(rel, source, line, key, f'is in {os.path.realpath(parent)}, reached through a '
                         'symlink that leaves the data root')
        links = self._links.get(parent)
        if links is None:
            links = self._links_of(parent)
        if links and name in links and not self._inside(os.path.realpath(full)):
            self._refuse(rel, source, line, key, f'is a symlink to {os.path.realpath(full)}, outside the data root')

    def _inside(self, real: str) -> bool:
        return real == self._real_root or real.startswith(self._real_root.rstrip(os.sep) + os.sep)

    def _dir_inside(self, directory: str) -> bool:
        known = self._dirs.get(directory)
        if known is None:
            known = self._dirs[directory] = self._inside(os.path.realpath(directory or '.'))
        return known

    def _links_of(self, directory: str) -> frozenset[str]:
        links = self._links.get(directory)
        if links is None:
            try:
                with os.scandir(directory or '.') as entries:
                    found = frozenset(e.name for e in entries if e.is_symlink())
            except OSError:          # missing folder: its files are reported missing elsewhere
                found = _NO_LINKS
            links = self._links[directory] = found or _NO_LINKS
        return links

    def _refuse(self, rel: str, source, line: int | None, key: str | None, why: str) -> None:
        at = where(source, line) + (f': key {key!r}' if key is not None else '')
        raise OutsideRootError(f'{at}: path {rel!r} {why} (data root {self._real_root}); fix the entry, or '
                               'pass allow_outside_root=True to the dataset (`data check --allow-outside-root`) '
                               'if you trust this annotation file')
