"""Every knowledge row cites what ships or a publication, never an internal notes file."""
import pathlib
import tomllib

import pytest

KNOWLEDGE = pathlib.Path(__file__).resolve().parents[1] / "skill" / "scaling_design" / "knowledge"
INTERNAL = ("SCALING_NOTES", "(check)", "seed 000", "skill notes")


def _sources(node, path=""):
    """Yield (dotted path, text) for every key whose name ends in 'source'."""
    if isinstance(node, dict):
        for key, value in node.items():
            where = f"{path}.{key}" if path else key
            if key.endswith("source") and isinstance(value, str):
                yield where, value
            else:
                yield from _sources(value, where)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from _sources(item, f"{path}[{i}]")


ROWS = [(p.name, where, text) for p in sorted(KNOWLEDGE.glob("*.toml"))
        for where, text in _sources(tomllib.loads(p.read_text(encoding="utf-8")))]


def test_the_knowledge_tables_have_sources():
    assert len(ROWS) > 100


@pytest.mark.parametrize("name,where,text", ROWS, ids=[f"{n}:{w}" for n, w, _ in ROWS])
def test_no_knowledge_row_cites_an_internal_notes_file_or_an_unchecked_figure(name, where, text):
    for marker in INTERNAL:
        assert marker.lower() not in text.lower(), f"{name} {where} cites {marker!r}: {text}"


@pytest.mark.parametrize("name,where,text", ROWS, ids=[f"{n}:{w}" for n, w, _ in ROWS])
def test_every_knowledge_source_says_something(name, where, text):
    assert len(text.strip()) >= 4, f"{name} {where} has an empty source"
