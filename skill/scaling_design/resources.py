"""Where the skill documents live: SKILL.md, sops/*.md and tactics/*.md.

One source for each text. In the repository (editable install) they sit at the
repository root; the wheel force-includes them as ``scaling_design/skill_docs/``
(see pyproject.toml). The server offers them as MCP resources and prompts, and
``scaling-design skill install`` copies them into an agent's skills folder.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

__all__ = ["SkillDoc", "docs_root", "skill_md_path", "procedure_docs", "doc_for_tool"]

_PACKAGE_DIR = Path(__file__).resolve().parent
DOC_FOLDERS = ("sops", "tactics")


@dataclass(frozen=True)
class SkillDoc:
    """One procedure document: ``kind`` is "sops" or "tactics", ``name`` the tool it documents."""

    kind: str
    name: str
    path: Path

    @property
    def relative(self) -> str:
        return f"{self.kind}/{self.path.name}"

    def read(self) -> str:
        return self.path.read_text(encoding="utf-8")


def _candidate_roots() -> list[Path]:
    # The wheel first: an installed package must not read a stray checkout.
    return [_PACKAGE_DIR / "skill_docs", _PACKAGE_DIR.parents[1]]


@lru_cache(maxsize=1)
def docs_root() -> Path:
    """The folder holding SKILL.md, sops/ and tactics/."""
    for root in _candidate_roots():
        if (root / "SKILL.md").is_file():
            return root
    searched = ", ".join(str(r) for r in _candidate_roots())
    raise FileNotFoundError(f"SKILL.md not found; searched {searched}")


def skill_md_path() -> Path:
    return docs_root() / "SKILL.md"


def procedure_docs() -> list[SkillDoc]:
    """Every SOP and tactic document, SOPs first, each list sorted by name."""
    root = docs_root()
    docs = []
    for kind in DOC_FOLDERS:
        folder = root / kind
        if folder.is_dir():
            docs.extend(SkillDoc(kind, p.stem, p) for p in sorted(folder.glob("*.md")))
    return docs


def doc_for_tool(tool_name: str) -> SkillDoc | None:
    """The SOP or tactic document that describes a tool, if there is one."""
    return next((d for d in procedure_docs() if d.name == tool_name), None)
