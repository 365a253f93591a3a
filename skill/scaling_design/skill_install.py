"""``scaling-design skill install``: copy the skill documents into an agent's skills folder.

The installed folder holds SKILL.md, sops/*.md, tactics/*.md, LICENSE and NOTICE: the same
texts the server offers as resources. No manifest is kept there (agents read every file of a
skill folder). A target that already holds the same files is left as it is; one that holds
anything different is refused unless ``force``, and then the old folder is moved to a backup
OUTSIDE the skills folder (agents load every folder inside it), beside the skills folder.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from .outputs import OverwriteRefused, atomic_write, find_conflicts, timestamp

__all__ = ["AGENT_TARGETS", "skill_files", "install_skill", "InstallResult", "backup_folder_for"]

AGENT_TARGETS = {"claude": Path(".claude/skills/scaling-design"), "github": Path(".github/skills/scaling-design")}
BACKUP_FOLDER = "skill-backups"


def skill_files() -> dict[str, bytes]:
    """Relative path -> content of every file of the installed skill."""
    from .resources import docs_root, procedure_docs, skill_md_path

    files = {"SKILL.md": skill_md_path().read_bytes()}
    for doc in procedure_docs():
        files[doc.relative] = doc.path.read_bytes()
    for extra in ("LICENSE", "NOTICE"):
        path = docs_root() / extra
        if path.is_file():
            files[extra] = path.read_bytes()
    return files


def backup_folder_for(target: Path) -> Path:
    """Where a replaced skill goes: ``<skills folder>/../skill-backups/<name>-<UTC time>``."""
    target = Path(target).resolve()
    base = target.parent.parent / BACKUP_FOLDER / f"{target.name}-{timestamp()}"
    candidate, n = base, 2
    while candidate.exists():
        candidate = base.with_name(f"{base.name}-{n}")
        n += 1
    return candidate


@dataclass
class InstallResult:
    target: Path
    written: list[Path] = field(default_factory=list)
    backup: Path | None = None
    up_to_date: bool = False


def install_skill(target: Path, force: bool = False) -> InstallResult:
    """Install the skill into ``target`` (e.g. ``.claude/skills/scaling-design``)."""
    target = Path(target)
    files = skill_files()
    result = InstallResult(target)
    if target.exists() and not target.is_dir():
        raise OverwriteRefused(f"--target must be a folder; {target} is a file", [])
    if target.is_dir() and any(target.iterdir()):
        conflicts = find_conflicts(target, files, manifest=None)
        if not conflicts and all((target / name).is_file() for name in files):
            result.up_to_date = True
            return result
        if not force:
            listed = ", ".join(str(c.path.relative_to(target)) for c in conflicts[:5]) or "other files"
            more = f" and {len(conflicts) - 5} more" if len(conflicts) > 5 else ""
            raise OverwriteRefused(
                f"--target {target} already holds a skill that differs from this one ({listed}{more}); nothing was "
                f"written; pass --force to replace it (the old folder is moved to {backup_folder_for(target).parent})",
                conflicts)
        result.backup = backup_folder_for(target)
        result.backup.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(target), str(result.backup))
    for name, data in files.items():
        result.written.append(atomic_write(target / name, data))
    return result
