"""How the CLI writes files: atomically, with a manifest, never over a user's changes.

Every file goes to a temporary file in the same folder and is then renamed over
the target, so an interrupted write leaves the old file whole. An output folder
holds a small manifest (``.scaling-design-manifest.json``) of what the last
command wrote there, with SHA-256 hashes. Before anything is written, every
target that exists is checked: it is safe to replace when it is byte-identical
to the new content or still matches the manifest; otherwise the user changed it
(a results template with a filled measurement always counts as changed) and the
whole write is refused with `OverwriteRefused`, unless ``force`` is given, in
which case the old file is kept beside the new one as ``NAME.bak`` (or
``NAME.bak.2`` ...). What is written here (plan files, plots) is decided by the
callers; this module only decides how.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Mapping

__all__ = ["MANIFEST_NAME", "OverwriteRefused", "Conflict", "atomic_write", "sha256", "read_manifest",
           "find_conflicts", "write_outputs", "backup_path", "render_into"]

MANIFEST_NAME = ".scaling-design-manifest.json"
_CHUNK = 1 << 16


class OverwriteRefused(ValueError):
    """Refused to replace files the user changed; the message names them and the flags that would proceed."""

    def __init__(self, message: str, conflicts: list["Conflict"]):
        super().__init__(message)
        self.conflicts = conflicts


@dataclass(frozen=True)
class Conflict:
    """An existing file that the write would replace although the user may have changed it."""

    path: Path
    reason: str  # e.g. "2 filled rows", "changed since scaling-design wrote it"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write_all(handle, data: bytes) -> None:
    # In chunks: a failure part-way (disk full, interrupt) leaves a partial temporary file, never a partial target.
    for start in range(0, len(data), _CHUNK):
        handle.write(data[start:start + _CHUNK])


def atomic_write(path: Path, data: bytes | str) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename."""
    path = Path(path)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            _write_all(handle, raw)
            handle.flush()
            os.fsync(handle.fileno())
        if path.exists():  # keep the permissions the user gave the file
            shutil.copymode(path, tmp_name)
        else:
            os.chmod(tmp_name, 0o666 & ~_umask())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def read_manifest(folder: Path) -> dict[str, str]:
    """name -> sha256 of what the last command wrote in ``folder`` (empty when there is no readable manifest)."""
    try:
        data = json.loads((Path(folder) / MANIFEST_NAME).read_text(encoding="utf-8"))
        files = data.get("files", {})
        return {str(k): str(v["sha256"]) for k, v in files.items() if isinstance(v, dict) and "sha256" in v}
    except (OSError, ValueError, AttributeError, TypeError):
        return {}  # no manifest, or an unreadable one: every existing file then counts as the user's


def _write_manifest(folder: Path, command: str, hashes: Mapping[str, str]) -> None:
    previous = read_manifest(folder)
    previous = {k: v for k, v in previous.items() if (folder / k).is_file()}  # forget files that are gone
    previous.update(hashes)
    body = {"written_by": "scaling-design", "command": command,
            "files": {name: {"sha256": digest} for name, digest in sorted(previous.items())}}
    atomic_write(folder / MANIFEST_NAME, json.dumps(body, indent=2) + "\n")


def find_conflicts(folder: Path, contents: Mapping[str, bytes], manifest: Mapping[str, str] | None,
                   is_filled: Callable[[str, bytes], int] | None = None) -> list[Conflict]:
    """The existing files among ``contents`` that the user may have changed.

    ``manifest`` None means a folder where no manifest is kept (a skill folder): there a file is
    safe to replace only when it already holds the new content. ``is_filled(name, old)`` returns how
    many filled measurements an old file holds (0 when it is not a results file).
    """
    conflicts = []
    for name, new in contents.items():
        path = Path(folder) / name
        if not path.is_file():
            if path.exists():
                conflicts.append(Conflict(path, "not a regular file"))
            continue
        old = path.read_bytes()
        filled = is_filled(name, old) if is_filled else 0
        if filled:
            conflicts.append(Conflict(path, f"{filled} filled row{'s' if filled != 1 else ''}"))
        elif old != new and (manifest is None or manifest.get(name) != sha256(old)):
            conflicts.append(Conflict(path, "changed since scaling-design wrote it" if manifest and name in manifest
                                      else "not written by scaling-design"))
    return conflicts


def backup_path(path: Path) -> Path:
    """The first free ``NAME.bak``, ``NAME.bak.2``, ... beside ``path``: a backup never replaces another."""
    candidate = path.with_name(path.name + ".bak")
    n = 2
    while candidate.exists():
        candidate = path.with_name(f"{path.name}.bak.{n}")
        n += 1
    return candidate


@dataclass
class WriteResult:
    written: list[Path] = field(default_factory=list)
    backups: list[Path] = field(default_factory=list)


def write_outputs(folder: Path, contents: Mapping[str, bytes | str], *, command: str, force: bool = False,
                  is_filled: Callable[[str, bytes], int] | None = None, flags_hint: str = "--force",
                  resolved: Iterable[str] = ()) -> WriteResult:
    """Write every file of ``contents`` (name -> bytes) into ``folder``, all or none.

    Raises `OverwriteRefused` before writing anything when an existing file may hold the user's
    changes and ``force`` is not set; ``resolved`` names files the caller has already dealt with
    (e.g. a results template whose rows were carried over), which are replaced with a backup.
    """
    folder = Path(folder)
    data = {name: (c.encode("utf-8") if isinstance(c, str) else c) for name, c in contents.items()}
    manifest = read_manifest(folder)
    resolved = set(resolved)
    conflicts = find_conflicts(folder, data, manifest, is_filled)
    blocking = [c for c in conflicts if c.path.name not in resolved]
    if blocking and not force:
        raise OverwriteRefused(refusal_message(blocking, flags_hint), blocking)
    folder.mkdir(parents=True, exist_ok=True)
    result = WriteResult()
    for conflict in conflicts:  # the user's version is kept beside the new one
        backup = backup_path(conflict.path)
        shutil.copy2(conflict.path, backup)
        result.backups.append(backup)
    for name, raw in data.items():
        result.written.append(atomic_write(folder / name, raw))
    _write_manifest(folder, command, {name: sha256(raw) for name, raw in data.items()})
    return result


def refusal_message(conflicts: list[Conflict], flags_hint: str) -> str:
    listed = "; ".join(f"{c.path} ({c.reason})" for c in conflicts)
    return f"refusing to replace files that may hold your changes: {listed}; nothing was written; {flags_hint}"


def render_into(folder: Path, render: Callable[[Path], list[Path]]) -> dict[str, bytes]:
    """Run a renderer that writes files into a folder (the plots) in a staging folder; return name -> bytes.

    The staging folder sits inside ``folder`` (same file system) and is removed afterwards, so the
    renderer's files reach ``folder`` only through `write_outputs`.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder, prefix=".scaling-design-staging-"))
    try:
        return {p.name: p.read_bytes() for p in render(staging)}
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def timestamp() -> str:
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime())


TEMPLATE_NAME = "results-template.csv"
UNPLACED_NAME = "results-unplaced.csv"


@dataclass
class PlanWrite(WriteResult):
    placed: int = 0
    unplaced: int = 0
    unplaced_path: Path | None = None


def _free_name(folder: Path, name: str) -> str:
    stem, dot, ext = name.partition(".")
    candidate, n = name, 2
    while (folder / candidate).exists():
        candidate = f"{stem}-{n}{dot}{ext}"
        n += 1
    return candidate


def write_plan_outputs(folder: Path, contents: dict[str, bytes | str], design_csv: str, *,
                       force: bool = False, keep_results: bool = False) -> PlanWrite:
    """Write a plan's files (name -> content, the results template among them) into ``folder``.

    A results template with filled measurements blocks the write unless ``keep_results`` (its
    filled rows are carried onto the new template's matching runs, the rest kept in
    ``results-unplaced.csv`` beside it, the old template kept as a backup) or ``force`` (replaced,
    old one kept as a backup). Any other changed file needs ``force``.
    """
    from .results_carry import carry_over, filled_rows, result_columns

    folder = Path(folder)
    contents = dict(contents)
    template_new = contents[TEMPLATE_NAME]
    template_new = template_new.decode("utf-8") if isinstance(template_new, bytes) else template_new
    columns = result_columns(template_new, design_csv)

    def is_filled(name: str, old: bytes) -> int:
        if name != TEMPLATE_NAME:
            return 0
        return len(filled_rows(old.decode("utf-8", errors="replace"), columns))

    carried, resolved = None, []
    old_path = folder / TEMPLATE_NAME
    if keep_results and old_path.is_file() and is_filled(TEMPLATE_NAME, old_path.read_bytes()):
        carried = carry_over(old_path.read_text(encoding="utf-8", errors="replace"), template_new, columns)
        contents[TEMPLATE_NAME] = carried.template_csv
        resolved.append(TEMPLATE_NAME)
        if carried.unplaced_csv is not None:
            contents[_free_name(folder, UNPLACED_NAME)] = carried.unplaced_csv
    hint = ("pass --keep-results to re-plan and carry the filled rows over, or --force to replace them "
            "(the old files are kept beside as .bak)")
    result = write_outputs(folder, contents, command="plan", force=force, is_filled=is_filled,
                           flags_hint=hint, resolved=resolved)
    out = PlanWrite(written=result.written, backups=result.backups)
    if carried is not None:
        out.placed, out.unplaced = carried.placed, carried.unplaced
        out.unplaced_path = next((p for p in result.written if p.name.startswith("results-unplaced")), None)
    return out
