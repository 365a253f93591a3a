"""A law form from an expression string, parsed safely.

The text is parsed by Python's `ast` (never evaluated) and only whitelisted nodes are
turned into a sympy expression: numbers, names, + - * / ** (or ^), unary minus, and the
functions in FUNCTIONS. Names among INPUT_NAMES are the data's inputs; every other name is
a parameter. A parameter that multiplies one additive term and appears nowhere else, with a
lower bound >= 0 (the default for such a parameter), is an amplitude and is solved
exactly by variable projection; the other parameters are nonlinear, and terms without an
amplitude form the offset. sympy gives the exact derivatives; its generated numpy code
evaluates them.
"""
from __future__ import annotations

import ast
from functools import lru_cache

import numpy as np

from ..results import LawInputError
from .core import LawForm

__all__ = ["custom_form", "INPUT_NAMES", "FUNCTIONS", "MAX_EXPRESSION_CHARS"]

INPUT_NAMES = ("N", "D", "U", "x")
FUNCTIONS = ("exp", "log", "ln", "log10", "log2", "sqrt", "tanh", "sigmoid", "softplus")
MAX_EXPRESSION_CHARS = 500
MAX_NODES = 300
MAX_GRID = 2000
AMPLITUDE_BOUNDS = (0.0, np.inf)
NONLINEAR_BOUNDS = (-10.0, 10.0)
_POSITIVE_STARTS = np.array([0.1, 0.3, 0.6, 1.0])
_SIGNED_STARTS = np.array([-0.5, -0.1, 0.1, 0.5])


def _sympy():
    import sympy  # an optional extra: only custom forms need it
    return sympy


def _function(name: str):
    sp = _sympy()
    table = {"exp": sp.exp, "log": sp.log, "ln": sp.log, "sqrt": sp.sqrt, "tanh": sp.tanh,
             "log10": lambda a: sp.log(a) / sp.log(10), "log2": lambda a: sp.log(a) / sp.log(2),
             "sigmoid": lambda a: 1 / (1 + sp.exp(-a)), "softplus": lambda a: sp.log(1 + sp.exp(a))}
    return table[name]


_BINOPS = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.Pow: "pow"}


def _to_sympy(node, symbols: dict):
    sp = _sympy()
    if isinstance(node, ast.Expression):
        return _to_sympy(node.body, symbols)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return sp.Float(node.value) if isinstance(node.value, float) else sp.Integer(node.value)
    if isinstance(node, ast.Name):
        if node.id in FUNCTIONS:
            raise LawInputError("form", f"{node.id} is a function: write {node.id}(...)")
        if node.id.startswith("_"):
            raise LawInputError("form", f"names may not start with '_'; got {node.id!r}")
        return symbols.setdefault(node.id, sp.Symbol(node.id, real=True))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        inner = _to_sympy(node.operand, symbols)
        return -inner if isinstance(node.op, ast.USub) else inner
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        a, b = _to_sympy(node.left, symbols), _to_sympy(node.right, symbols)
        op = _BINOPS[type(node.op)]
        return {"add": a + b, "sub": a - b, "mul": a * b, "div": a / b, "pow": a ** b}[op]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS \
            and len(node.args) == 1 and not node.keywords:
        return _function(node.func.id)(_to_sympy(node.args[0], symbols))
    shown = type(node).__name__
    raise LawInputError("form", f"the expression may use numbers, names, + - * / ** ^, parentheses and the functions "
                                f"{list(FUNCTIONS)}; {shown} is not allowed")


def _parse(expression: str):
    text = expression.strip()
    if not text or len(text) > MAX_EXPRESSION_CHARS:
        raise LawInputError("form", f"a custom form is an expression of 1 to {MAX_EXPRESSION_CHARS} characters; got {len(text)}")
    text = text.split("=", 1)[1] if text.startswith(("L=", "L =", "loss=", "loss =")) else text
    text = text.replace("^", "**")  # ^ is power here (with the precedence of **), never xor
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise LawInputError("form", f"the expression does not parse ({exc.msg} at column {exc.offset})") from None
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        raise LawInputError("form", f"the expression is too long (more than {MAX_NODES} terms and operators)")
    symbols: dict = {}
    return _to_sympy(tree, symbols), symbols


def _split_terms(expr, params: list, bounds: dict):
    """(amplitude name or None, the term divided by it) for each additive term."""
    sp = _sympy()
    terms = sp.Add.make_args(expr)
    out = []
    for term in terms:
        amp = None
        for factor in sp.Mul.make_args(term):
            if factor.is_Symbol and factor.name in params and bounds[factor.name][0] >= 0:
                others = [t for t in terms if t is not term]
                rest = term / factor
                if not rest.has(factor) and not any(t.has(factor) for t in others):
                    amp = factor
                    break
        out.append((None, term) if amp is None else (amp.name, term / amp))
    return out


def _bounds_for(params: list, expr, given: dict) -> dict:
    sp = _sympy()
    terms = sp.Add.make_args(expr)
    unknown = sorted(set(given) - set(params))
    if unknown:
        raise LawInputError("param_bounds", f"param_bounds names parameters the expression does not have: {unknown}; "
                                            f"its parameters are {params}")
    out = {}
    for name in params:
        sym = sp.Symbol(name, real=True)
        linear = sum(1 for t in terms if t.has(sym)) == 1 and any(f == sym for t in terms for f in sp.Mul.make_args(t))
        lo, hi = given.get(name, AMPLITUDE_BOUNDS if linear else NONLINEAR_BOUNDS)
        lo, hi = float(lo), float(hi)
        if not (lo < hi) or np.isnan(lo) or np.isnan(hi):
            raise LawInputError("param_bounds", f"bounds of {name} must be [low, high] with low < high; got {[lo, hi]}")
        out[name] = (lo, hi)
    return out


def _grid_axis(lo: float, hi: float) -> np.ndarray:
    pool = _POSITIVE_STARTS if lo >= 0 else _SIGNED_STARTS
    inside = pool[(pool > lo) & (pool < hi)]
    if inside.size:
        return inside
    if np.isfinite(lo) and np.isfinite(hi):
        return np.array([0.5 * (lo + hi)])
    return np.array([lo + 1.0 if np.isfinite(lo) else hi - 1.0])


def _grid(exponents: list, bounds: dict) -> tuple:
    axes = [_grid_axis(*bounds[n]) for n in exponents]
    while np.prod([a.size for a in axes], dtype=float) > MAX_GRID:  # thin the widest axis until the grid fits
        i = int(np.argmax([a.size for a in axes]))
        axes[i] = axes[i][:: 2] if axes[i].size > 2 else axes[i][:1]
    return tuple(axes)


def _vectorised(fn, n_theta):
    def call(theta, X):
        cols = [X[:, j] for j in range(X.shape[1])]
        with np.errstate(all="ignore"):
            return fn(*theta, *cols) if n_theta else fn(*cols)
    return call


@lru_cache(maxsize=64)
def _build(expression: str, bounds_items: tuple) -> LawForm:
    sp = _sympy()
    expr, symbols = _parse(expression)
    inputs = tuple(n for n in INPUT_NAMES if n in symbols)
    if not inputs:
        raise LawInputError("form", f"the expression uses none of the inputs {list(INPUT_NAMES)}; e.g. 'E + A*N**-alpha'")
    params = sorted(n for n in symbols if n not in INPUT_NAMES)
    if not params:
        raise LawInputError("form", "the expression has no parameters to fit")
    bounds = _bounds_for(params, expr, dict(bounds_items))
    terms = _split_terms(expr, params, bounds)
    amplitudes = [a for a, _ in terms if a is not None]
    exponents = [p for p in params if p not in amplitudes]
    theta = [symbols[n] for n in exponents]
    xs = [symbols[n] for n in inputs]
    bases = [b for a, b in terms if a is not None]
    offset = sum((b for a, b in terms if a is None), sp.Integer(0))
    args = theta + xs
    basis_fn = sp.lambdify(args, bases, modules="numpy")
    dbasis_fn = sp.lambdify(args, [[sp.diff(b, t) for t in theta] for b in bases], modules="numpy")
    has_offset = offset != 0
    offset_fn = sp.lambdify(args, [offset] + [sp.diff(offset, t) for t in theta], modules="numpy")

    def basis(th, X):
        n = X.shape[0]
        phi = np.column_stack([np.broadcast_to(np.asarray(v, float), (n,)) for v in _vectorised(basis_fn, 1)(th, X)]) \
            if bases else np.zeros((n, 0))
        dphi = np.zeros((n, len(bases), len(theta)))
        if theta and bases:
            for k, row in enumerate(_vectorised(dbasis_fn, 1)(th, X)):
                for m, v in enumerate(row):
                    dphi[:, k, m] = np.broadcast_to(np.asarray(v, float), (n,))
        return phi, dphi

    def offset_term(th, X):
        n = X.shape[0]
        values = _vectorised(offset_fn, 1)(th, X)
        value = np.broadcast_to(np.asarray(values[0], float), (n,))
        grad = np.column_stack([np.broadcast_to(np.asarray(v, float), (n,)) for v in values[1:]]) if theta else np.zeros((n, 0))
        return value, grad

    return LawForm(
        name="custom", equation=f"L = {sp.sstr(expr)}", inputs=inputs, amplitudes=tuple(amplitudes),
        exponents=tuple(exponents), bounds=bounds, basis=basis, grid=_grid(exponents, bounds),
        offset=offset_term if has_offset else None, in_auto=False, source=expression.strip(),
        description=f"custom form {expression.strip()!r}: amplitudes {amplitudes} (solved exactly), nonlinear {exponents}")


def custom_form(expression: str, bounds: dict | None = None) -> LawForm:
    """The LawForm of an expression; bounds maps a parameter to (low, high)."""
    try:
        _sympy()
    except ImportError:
        raise LawInputError("form", "custom forms need sympy: pip install 'scaling-design[custom]' (or pip install sympy)") from None
    items = []
    for k, v in (bounds or {}).items():
        try:
            lo, hi = v
        except (TypeError, ValueError):
            raise LawInputError("param_bounds", f"bounds of {k} must be [low, high]; got {v!r}") from None
        items.append((str(k), (float(lo), float(hi))))
    return _build(expression.strip(), tuple(sorted(items)))
