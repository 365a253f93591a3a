"""Counting parameters and FLOPs of a decoder-only transformer.

Conventions (say which one you use and log both):
- Kaplan et al. 2020 count non-embedding parameters, N ~ 12 n_layer d_model^2.
- Hoffmann et al. 2022 count all parameters, embeddings included.
- Training compute C ~ 6 N D (Kaplan 2020); DeepSeek-AI 2024 use non-embedding
  FLOPs per token M = 72 n_layer d^2 + 12 n_layer d l_seq, which includes attention
  and differs from 6N by up to ~50% for small models.
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["TransformerShape", "ParamCount", "count_params", "flops_per_token_6n",
           "flops_per_token_deepseek", "training_flops", "tokens_for_compute"]


@dataclass(frozen=True)
class TransformerShape:
    """Shape of a decoder-only transformer.

    d_ff defaults to 4 d_model; n_kv_heads defaults to n_heads (multi-head attention);
    gated=True means a three-matrix gated MLP (SwiGLU), as in Llama.
    """

    n_layer: int
    d_model: int
    n_heads: int
    d_ff: int | None = None
    n_kv_heads: int | None = None
    vocab_size: int = 50_257
    seq_len: int = 2048
    gated: bool = False
    tied_embeddings: bool = True
    learned_positions: bool = False
    biases: bool = False

    def __post_init__(self) -> None:
        for name in ("n_layer", "d_model", "n_heads", "vocab_size", "seq_len"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer; got {value!r}")
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model must be divisible by n_heads; got d_model={self.d_model}, n_heads={self.n_heads}")
        kv = self.kv_heads
        if kv < 1 or self.n_heads % kv:
            raise ValueError(f"n_kv_heads must divide n_heads; got n_kv_heads={kv}, n_heads={self.n_heads}")

    @property
    def ffn_dim(self) -> int:
        return self.d_ff if self.d_ff is not None else 4 * self.d_model

    @property
    def kv_heads(self) -> int:
        return self.n_kv_heads if self.n_kv_heads is not None else self.n_heads

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_heads

    @property
    def aspect_ratio(self) -> float:
        """d_model / n_layer (Kaplan's measure of shape)."""
        return self.d_model / self.n_layer


@dataclass(frozen=True)
class ParamCount:
    attention: int
    mlp: int
    norms: int
    embedding: int
    non_embedding: int
    total: int


def count_params(shape: TransformerShape) -> ParamCount:
    """Exact parameter count of a pre-norm decoder-only transformer.

    Per layer: attention Q and output projections d*d each, K and V d*(kv_heads*head_dim)
    each; MLP 2 d d_ff (3 with a gate); two norms of 2d (scale and shift). Embeddings:
    V d for tokens, plus an untied output head, plus learned positions if any.
    With kv_heads = heads, d_ff = 4d and no biases this is 12 L d^2 + 4 L d, Kaplan's 12 L d^2
    plus the norms.
    """
    d, L = shape.d_model, shape.n_layer
    kv_dim = shape.kv_heads * shape.head_dim
    attn = 2 * d * d + 2 * d * kv_dim
    mlp = (3 if shape.gated else 2) * d * shape.ffn_dim
    if shape.biases:
        attn += 2 * d + 2 * kv_dim
        mlp += shape.ffn_dim * (2 if shape.gated else 1) + d
    norms_per_layer = 2 * 2 * d
    attention, mlp_total, norms = L * attn, L * mlp, L * norms_per_layer + 2 * d  # + final norm
    embedding = shape.vocab_size * d * (1 if shape.tied_embeddings else 2)
    if shape.learned_positions:
        embedding += shape.seq_len * d
    non_embedding = attention + mlp_total + norms
    return ParamCount(attention, mlp_total, norms, embedding, non_embedding, non_embedding + embedding)


def flops_per_token_6n(n_params: float) -> float:
    """Training FLOPs per token in the 6N convention (forward 2N, backward 4N)."""
    if not n_params > 0:
        raise ValueError(f"n_params must be > 0; got {n_params!r}")
    return 6.0 * n_params


def flops_per_token_deepseek(n_layer: int, d_model: int, seq_len: int) -> float:
    """DeepSeek-AI 2024 non-embedding training FLOPs per token: 72 L d^2 + 12 L d l_seq.

    Unlike 6N it counts the attention-score FLOPs (12 L d l_seq), which matter for
    small models with long contexts.
    """
    for name, value in (("n_layer", n_layer), ("d_model", d_model), ("seq_len", seq_len)):
        if not value > 0:
            raise ValueError(f"{name} must be > 0; got {value!r}")
    return 72.0 * n_layer * d_model**2 + 12.0 * n_layer * d_model * seq_len


def training_flops(n_params, tokens):
    """C = 6 N D (works on scalars and numpy arrays)."""
    return 6.0 * n_params * tokens


def tokens_for_compute(compute, n_params):
    """D = C / (6 N)."""
    return compute / (6.0 * n_params)
