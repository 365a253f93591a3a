"""Spacing of levels and the transformer shape realising a parameter target."""
from __future__ import annotations

import math

import numpy as np

from ...laws.counting import (TransformerShape, count_params, flops_per_token_6n,
                             flops_per_token_deepseek)
from .models import Input, ModelShape


# --------------------------------------------------------------------------------------------
# Spacing

def _spaced(minimum: float, maximum: float, k: int, spacing: str, seed: int) -> np.ndarray:
    if spacing == "geometric":
        return np.geomspace(minimum, maximum, k)
    if spacing == "linear":
        return np.linspace(minimum, maximum, k)
    # log_uniform: keep both ends, one stratified random draw per interior stratum of log space.
    lo, hi = math.log(minimum), math.log(maximum)
    if k == 2:
        return np.array([minimum, maximum])
    from scipy.stats import qmc  # lazily: scipy.stats is slow to import and most calls never need it

    sample = qmc.LatinHypercube(d=1, rng=np.random.default_rng(seed)).random(k - 2)[:, 0]
    interior = np.exp(lo + np.sort(sample) * (hi - lo))
    return np.concatenate([[minimum], interior, [maximum]])


def _held_out(targets: np.ndarray, spacing: str) -> float:
    """One step beyond the largest level in the spacing's own terms."""
    if spacing == "linear":
        return float(targets[-1] + (targets[-1] - targets[-2]))
    return float(targets[-1] * (targets[-1] / targets[-2]) if spacing == "custom"
                 else targets[-1] * (targets[-1] / targets[0]) ** (1.0 / (len(targets) - 1)))


# --------------------------------------------------------------------------------------------
# Shapes

class _ShapeRules:
    """Shape settings resolved from input and knowledge."""

    def __init__(self, inp: Input, table: dict, shape_defaults: dict):
        shape = table["shape"]
        self.counting = inp.parameter_counting
        self.vocab = inp.vocab_size if inp.vocab_size is not None else shape["vocab_size"]
        self.seq_len = inp.seq_len if inp.seq_len is not None else table["tokens"]["seq_len"]
        self.gated = inp.gated_mlp
        self.head_dim = inp.head_dim if inp.head_dim is not None else shape_defaults["head_dim"]
        self.tied = inp.tied_embeddings if inp.tied_embeddings is not None else shape["tied_embeddings"]
        band = shape_defaults["aspect_ratio_band"]
        self.band = (inp.aspect_ratio_min or band[0], inp.aspect_ratio_max or band[1])
        pref = shape["preferred_aspect_ratio"]
        self.preferred = (max(pref[0], self.band[0]), min(pref[1], self.band[1]))
        self.tol = inp.tolerance
        self.min_layers = shape_defaults["min_layers"]
        self.max_layers = shape["max_layers"]
        self.ffn_multiplier = shape_defaults["ffn_multiplier"]
        self.gated_ratio = shape["gated_ffn_ratio"]
        self.gated_multiple = shape["gated_multiple_of"]

    def d_ff(self, d_model: int) -> int:
        if self.gated:
            return int(math.ceil(self.gated_ratio * d_model / self.gated_multiple)) * self.gated_multiple
        return self.ffn_multiplier * d_model

    def embedding_per_width(self) -> int:
        return self.vocab * (1 if self.tied else 2)


def _count(rules: _ShapeRules, n_layer: int, d_model: int):
    shape = TransformerShape(n_layer=n_layer, d_model=d_model, n_heads=d_model // rules.head_dim,
                             d_ff=rules.d_ff(d_model), vocab_size=rules.vocab, seq_len=rules.seq_len,
                             gated=rules.gated, tied_embeddings=rules.tied)
    return shape, count_params(shape)


def _shape(rules: _ShapeRules, n_layer: int, d_model: int, target: float) -> ModelShape:
    shape, count = _count(rules, n_layer, d_model)
    counted = count.non_embedding if rules.counting == "non_embedding" else count.total
    rel = (counted - target) / target
    aspect = d_model / n_layer
    return ModelShape(
        target_params=target, n_layer=n_layer, d_model=d_model, n_heads=shape.n_heads, head_dim=rules.head_dim,
        d_ff=shape.ffn_dim, gated_mlp=rules.gated, aspect_ratio=aspect, non_embedding_params=count.non_embedding,
        total_params=count.total, embedding_share=count.embedding / count.total, counted_params=counted,
        relative_error=rel, within_tolerance=abs(rel) <= rules.tol,
        aspect_in_band=rules.band[0] <= aspect <= rules.band[1],
        flops_per_token_6n=flops_per_token_6n(count.non_embedding),
        flops_per_token_deepseek=flops_per_token_deepseek(n_layer, d_model, rules.seq_len))


def _width_guess(rules: _ShapeRules, n_layer: int, target: float) -> float:
    """Continuous d solving 12 L d^2 + (4 L + 2 [+ V]) d = target (MHA, 8 d^2 MLP, norms, embeddings if total)."""
    a = 12.0 * n_layer
    b = 4.0 * n_layer + 2.0 + (rules.embedding_per_width() if rules.counting == "total" else 0.0)
    return (-b + math.sqrt(b * b + 4.0 * a * target)) / (2.0 * a)


def _candidates(rules: _ShapeRules, target: float, prune: bool):
    hd = rules.head_dim
    for n_layer in range(rules.min_layers, rules.max_layers + 1):
        d_star = _width_guess(rules, n_layer, target)
        if prune and d_star / n_layer > rules.band[1] * 1.5:
            continue  # too few layers for this width: more layers lower the aspect ratio
        if prune and d_star / n_layer < rules.band[0] / 1.5:
            break
        base = max(1, int(d_star // hd))
        for multiple in range(max(1, base - 1), base + 3):
            yield n_layer, multiple * hd


def search_shape(rules: _ShapeRules, target: float) -> ModelShape:
    """The shape whose counted parameters are within tolerance of target, aspect ratio in band.

    Among feasible shapes: aspect ratio in the preferred range first, then the smallest gap to
    the target. When none is feasible, the nearest shape is returned (within_tolerance or
    aspect_in_band False) so the check can say why.
    """
    feasible, fallback = [], []
    for prune in (True, False):
        for n_layer, d_model in _candidates(rules, target, prune):
            if not prune and n_layer > 64 and n_layer % 8:
                continue  # the unpruned search only has to find the nearest shape to report
            _, count = _count(rules, n_layer, d_model)
            counted = count.non_embedding if rules.counting == "non_embedding" else count.total
            gap = abs(counted - target) / target
            aspect = d_model / n_layer
            in_band = rules.band[0] <= aspect <= rules.band[1]
            if gap <= rules.tol and in_band:
                preferred = rules.preferred[0] <= aspect <= rules.preferred[1]
                feasible.append(((not preferred, gap), n_layer, d_model))
            else:
                # Nearest infeasible: within tolerance first (then closest aspect), else smallest gap.
                fallback.append(((gap > rules.tol, abs(math.log(aspect / rules.preferred[1])) if gap <= rules.tol
                                  else gap), n_layer, d_model))
        if feasible:
            break
    _, n_layer, d_model = min(feasible or fallback)
    return _shape(rules, n_layer, d_model, target)
