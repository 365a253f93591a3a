"""Scaling-law forms: the built-in families, and custom forms from an expression.

core     the LawForm type (amplitudes x bases + an optional offset, bounds, start grid)
builtin  power, kaplan, saturating, chinchilla, broken, data_constrained
refined  farseer, joint_nbeta, log_linear (the families real pools need)
custom   a form from an expression string such as "E + A*N**-alpha + B*D**-beta"
         (parsed without eval; sympy, imported only here, gives the exact Jacobian)
"""
from __future__ import annotations

from .builtin import CLASSIC_FORMS, DATA_CONSTRAINED_TOKENS_PER_PARAM
from .core import LawForm, as_design
from .refined import REFINED_FORMS

__all__ = ["LawForm", "FORMS", "get_form", "form_names", "as_design", "is_expression", "candidate_forms",
           "DATA_CONSTRAINED_TOKENS_PER_PARAM"]

FORMS: dict[str, LawForm] = {**CLASSIC_FORMS, **REFINED_FORMS}

_ALIASES = {"joint": "chinchilla", "hoffmann": "chinchilla", "pure": "power", "broken_power": "broken",
            "muennighoff": "data_constrained", "loglinear": "log_linear", "li2025": "farseer"}
_EXPRESSION_CHARS = set("+-*/^() ")


def form_names() -> list[str]:
    return list(FORMS)


def is_expression(name: str) -> bool:
    """A custom form is given as an expression: it contains an operator or a parenthesis."""
    return any(ch in _EXPRESSION_CHARS for ch in str(name).strip())


def get_form(name: str, bounds: dict | None = None) -> LawForm:
    """A built-in form by name (aliases accepted) or a custom form from an expression."""
    if is_expression(name):
        from .custom import custom_form
        return custom_form(name, bounds)
    key = str(name).replace("-", "_").lower()
    key = _ALIASES.get(key, key)
    if key not in FORMS:
        raise ValueError(f"form must be one of {form_names()}, 'auto', or an expression such as "
                         f"'E + A*N**-alpha + B*D**-beta'; got {name!r}")
    return FORMS[key]


def candidate_forms(inputs: set[str]) -> list[LawForm]:
    """Every built-in form whose inputs the data have, one per family (form selection's candidates).

    Joint data (N and D) take the joint families; data with unique tokens U add the
    data-constrained law; one-axis data take the one-axis families."""
    out = []
    for form in FORMS.values():
        if not form.in_auto:
            continue
        if set(form.inputs) <= inputs and (form.inputs != ("x",) or not {"N", "D"} <= inputs):
            out.append(form)
    return out
