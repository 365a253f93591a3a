"""The scaling type from the question's words, and axis names resolved against the catalogue."""
from __future__ import annotations

import re

from ... import knowledge
from ...errors import InputError
from .models import SCALING_TYPES

__all__ = ["infer_scaling_type", "resolve_axis"]


def _word_pattern(phrase: str) -> re.Pattern[str]:
    return re.compile(r"(?<![a-z0-9])" + re.escape(phrase) + r"(?![a-z0-9])")


def infer_scaling_type(question: str) -> tuple[str, list[str]]:
    """Scaling type from keywords of the question, and the phrases that decided it.

    Held-fixed phrases ("the same 20B tokens", "a 1B model") are matched first; then keywords,
    longest first, each matched phrase blanked so 'tokens per parameter' counts once.
    Raises InputError naming scaling_type when no keyword is found.
    """
    rules = knowledge.load("factors")["inference_rules"]
    text = " " + question.lower() + " "
    held: dict[str, list[str]] = {}
    for stype, patterns in rules["held_fixed"].items():
        for pattern in patterns:
            for match in re.finditer(pattern, text):
                held.setdefault(stype, []).append(match.group(0).strip())
            text = re.sub(pattern, " ", text)
    phrases = sorted(((p, t) for t, ps in rules["keywords"].items() for p in ps), key=lambda pt: -len(pt[0]))
    hits: dict[str, list[str]] = {t: [] for t in rules["keywords"]}
    for phrase, stype in phrases:
        pattern = _word_pattern(phrase)
        if pattern.search(text):
            hits[stype].append(phrase)
            text = pattern.sub(" ", text)
    found = {t: h for t, h in hits.items() if h}
    for stype, phrases_held in held.items():  # a held-fixed phrase is evidence for its type
        found.setdefault(stype, [])
        found[stype] = phrases_held + found[stype]
    if not found:
        raise InputError("scaling_type", "scaling_type could not be inferred: the question names no resource axis "
                         "(model size, tokens, compute budget, latency...); pass scaling_type as one of "
                         f"{list(SCALING_TYPES)}; a comparison of conditions that is not a scaling study (an "
                         "ablation, hyperparameter or architecture choice) is answered by factor_identification, "
                         "metric_specification and statistical_method_selection with study_kind='general'")
    if set(found) <= {"model", "data"} and len(held) == 1:
        winner = next(iter(held))
        return winner, found[winner]
    if set(found) == {"model", "data"}:
        return rules["both_model_and_data"], found["model"] + found["data"]
    best = max(len(h) for h in found.values())
    winner = next(t for t in rules["priority"] if len(found.get(t, ())) == best)
    return winner, found[winner]


def resolve_axis(name: str, axes_table: dict) -> str | None:
    """Catalogue key for an axis name or alias (case-insensitive), or None."""
    key = name.strip().lower().replace("-", "_")
    for axis, row in axes_table.items():
        if key == axis or key in (a.lower() for a in row["aliases"]) or key.replace("_", " ") in row["aliases"]:
            return axis
    return None
