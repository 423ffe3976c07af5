"""Reading registry files as they stood at a git revision, with the real ``git`` command.

Every call runs ``git`` with an argument list (never a shell) in the working directory given,
so revisions and paths are never interpreted by anything but git. Paths are relative to that
directory, as ``git ls-tree`` prints them; ``REV:./path`` reads them back.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from ..errors import InputError

__all__ = ["is_revision", "revision_files"]

_SUFFIXES = (".yaml", ".yml")
_TIMEOUT = 60


def _git(args: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(  # noqa: S603  (an argument list, no shell)
            ["git", *args],  # noqa: S607  (git from PATH, as the user runs it)
            cwd=cwd,
            capture_output=True,
            timeout=_TIMEOUT,
            check=False,
        )
    except FileNotFoundError as exc:
        raise InputError("git is not installed: install git, or name registry paths") from exc
    except subprocess.TimeoutExpired as exc:
        raise InputError(f"git {args[0]} took more than {_TIMEOUT} s") from exc


def is_revision(revision: str, cwd: Path) -> bool:
    """True when ``revision`` names a commit of the repository ``cwd`` is in."""
    if not revision or revision.startswith("-"):
        return False
    done = _git(
        ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{revision}^{{commit}}"], cwd
    )
    return done.returncode == 0


def revision_files(revision: str, paths: Sequence[str], cwd: Path) -> list[tuple[str, bytes]]:
    """The registry files under ``paths`` at ``revision``: ``(path relative to cwd, content)``.

    Files are ``*.yaml``/``*.yml`` outside hidden directories, each path's files sorted as the
    loader sorts a directory. A path that holds nothing at ``revision`` adds no file (the
    registry did not exist there yet).

    Raises:
        InputError: git is missing, ``cwd`` is not in a repository, or a file cannot be read.
    """
    found: list[tuple[str, bytes]] = []
    seen: set[str] = set()
    for given in paths:
        listing = _git(["ls-tree", "-r", "-z", "--name-only", revision, "--", given], cwd)
        if listing.returncode != 0:
            reason = listing.stderr.decode(errors="replace").strip().splitlines()
            raise InputError(
                f"git cannot list {given!r} at {revision}: {reason[0] if reason else 'failed'}"
            )
        names = [n for n in listing.stdout.decode().split("\0") if n and _is_registry_file(n)]
        for name in sorted(names):
            if name in seen:
                continue
            seen.add(name)
            found.append((name, _show(revision, name, cwd)))
    return found


def _is_registry_file(name: str) -> bool:
    parts = PurePosixPath(name).parts
    if any(part.startswith(".") and part not in (".", "..") for part in parts):
        return False
    return name.endswith(_SUFFIXES)


def _show(revision: str, name: str, cwd: Path) -> bytes:
    shown = _git(["cat-file", "blob", f"{revision}:./{name}"], cwd)
    if shown.returncode != 0:
        reason = shown.stderr.decode(errors="replace").strip()
        raise InputError(f"git cannot read {name} at {revision}: {reason}", file=name)
    return shown.stdout
