"""The skill as agents install it: a valid Agent Skills folder, every link and command working."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from skills_ref.validator import validate

from scaling_design.cli import build_parser, main
from scaling_design.resources import docs_root, procedure_docs
from scaling_design.tools import tool_names

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
COMMAND = re.compile(r"`(scaling-design [^`]+)`|^(scaling-design [^\n#]+)", re.M)
PLACEHOLDERS = ("...", "..")


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    target = tmp_path_factory.mktemp("project") / ".claude" / "skills" / "scaling-design"
    assert main(["skill", "install", "--target", str(target)]) == 0
    return target


def _documents(folder: Path) -> list[Path]:
    return [folder / "SKILL.md", *sorted((folder / "sops").glob("*.md")), *sorted((folder / "tactics").glob("*.md"))]


def test_the_installed_skill_passes_the_agent_skills_validator(installed):
    assert validate(installed) == []


def test_the_installed_skill_carries_the_licence_and_the_notice_and_no_manifest(installed):
    assert "MIT License" in (installed / "LICENSE").read_text()
    notice = (installed / "NOTICE").read_text()
    assert "yogsoth-ai/de-anthropocentric-research-engine" in notice and "Apache License, Version 2.0" in notice
    assert not list(installed.rglob(".scaling-design-manifest.json"))


def test_every_relative_link_in_the_skill_resolves_in_the_installed_folder(installed):
    checked = 0
    for doc in _documents(installed):
        for target in LINK.findall(doc.read_text(encoding="utf-8")):
            if re.match(r"[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
                continue  # a URL or an anchor in the same page
            path = (doc.parent / target.split("#")[0]).resolve()
            assert path.exists() and installed.resolve() in (path, *path.parents), f"{doc.name}: {target}"
            checked += 1
    assert checked >= 9


def test_skill_md_links_every_sop_and_tactic_document_and_names_match_the_files(installed):
    text = (installed / "SKILL.md").read_text(encoding="utf-8")
    linked = set(LINK.findall(text))
    docs = procedure_docs()
    assert len(docs) == 9
    for doc in docs:
        assert doc.relative in linked, doc.relative
        assert doc.name in tool_names(), doc.name
        assert (installed / doc.relative).is_file()
    frontmatter = text.split("---")[1]
    for listed in re.findall(r"(?:sops|tactics)/\w+\.md", frontmatter):
        assert (installed / listed).is_file(), listed


def _commands(folder: Path) -> list[tuple[str, str]]:
    found = []
    for doc in _documents(folder):
        for a, b in COMMAND.findall(doc.read_text(encoding="utf-8")):
            found.append((doc.name, (a or b).strip()))
    return found


def test_every_command_shown_in_the_skill_documents_is_a_real_command_with_real_options(installed, capsys):
    commands = _commands(installed)
    assert len(commands) >= 8
    parser = build_parser()
    for doc, line in commands:
        tokens = [t for t in shlex.split(line.replace("|", " ")) if t not in PLACEHOLDERS][1:]
        words = []
        for token in tokens:  # the sub-command path: "plan", "skill install", "level-specification" ...
            if token.startswith("-") or words and len(words) == 2:
                break
            if words and words[0] != "skill":
                break
            words.append(token)
        with pytest.raises(SystemExit) as stop:
            parser.parse_args([*words, "--help"])
        assert stop.value.code == 0, f"{doc}: {line}"
        usage = capsys.readouterr().out
        for option in (t.split("=")[0] for t in tokens if t.startswith("--")):
            assert option in usage, f"{doc}: {line}: {option} is not an option of `scaling-design {' '.join(words)}`"


@pytest.mark.parametrize("name", tool_names())
def test_each_tool_is_a_command_of_its_own_name_spelled_with_dashes_or_underscores(name, capsys):
    for spelling in {name.replace("_", "-"), name}:
        with pytest.raises(SystemExit) as stop:
            build_parser().parse_args([spelling, "--help"])
        assert stop.value.code == 0
    args = build_parser().parse_args([name.replace("_", "-"), "--example"])
    assert args.tool == name and args.example


def test_a_tool_command_runs_the_tool_like_call(capsys):
    assert main(["level-specification", "--example"]) == 0
    dashed = capsys.readouterr().out
    assert main(["call", "level_specification", "--example"]) == 0
    assert capsys.readouterr().out == dashed


@pytest.mark.parametrize("agent, folder", [("claude", ".claude/skills/scaling-design"),
                                           ("github", ".github/skills/scaling-design")])
def test_skill_install_goes_where_each_agent_looks(agent, folder, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["skill", "install", "--agent", agent]) == 0
    assert (tmp_path / folder / "SKILL.md").read_bytes() == (docs_root() / "SKILL.md").read_bytes()
    assert validate(tmp_path / folder) == []


def test_a_different_skill_in_the_target_is_refused_and_force_moves_it_outside_the_skills_folder(tmp_path, capsys):
    skills = tmp_path / ".claude" / "skills"
    target = skills / "scaling-design"
    assert main(["skill", "install", "--target", str(target)]) == 0
    assert main(["skill", "install", "--target", str(target)]) == 0  # the same skill: nothing to do
    assert "already holds this skill" in capsys.readouterr().out
    (target / "SKILL.md").write_text("my edits\n", encoding="utf-8")
    assert main(["skill", "install", "--target", str(target)]) == 2
    err = capsys.readouterr().err
    assert "SKILL.md" in err and "--force" in err and len(err.strip().splitlines()) == 1
    assert (target / "SKILL.md").read_text() == "my edits\n"
    assert main(["skill", "install", "--target", str(target), "--force"]) == 0
    assert [p.name for p in skills.iterdir()] == ["scaling-design"]  # no backup where agents load skills
    backups = list((tmp_path / ".claude" / "skill-backups").iterdir())
    assert len(backups) == 1 and (backups[0] / "SKILL.md").read_text() == "my edits\n"
    assert validate(target) == []
