"""compute_optimal_allocation: the best N and D for a compute budget from a fitted or published law."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .. import file_access, knowledge, limits
from ..errors import InputError
from ..laws import allocation
from ..laws.bootstrap import MAX_BOOTSTRAP, bootstrap
from ..laws.fit import fit
from ..laws import forms
from ..laws.forms import get_form
from .allocation_variants import Band, DataConstrained, InferenceAware, data_constrained_params, data_constrained_rows, inference_rows
from .runs_io import read_csv_text

JOINT_LAWS = ("epoch", "hoffmann", "epoch_hoffmann_procedure", "sardana")
DATA_CONSTRAINED_LAWS = ("muennighoff",)
DATA_ORDER = allocation.JOINT_ORDER + ("R_D", "R_N")
MAX_COMPUTE = 1e40  # FLOPs; far beyond any training run, and N_opt stays an ordinary float


class JointParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    E: float = Field(ge=0, le=1e3, description="Irreducible loss (nats/token).")
    A: float = Field(ge=1e-30, le=1e30, description="Amplitude of the parameter term.")
    B: float = Field(ge=1e-30, le=1e30, description="Amplitude of the data term.")
    alpha: float = Field(ge=1e-3, le=5, description="Parameter exponent (1e-3 to 5; the allocation divides by it).")
    beta: float = Field(ge=1e-3, le=5, description="Data exponent (1e-3 to 5).")


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")
    compute: list[Annotated[float, Field(gt=0, le=MAX_COMPUTE)]] = Field(min_length=1, max_length=1000, description=(
        f"Training compute budgets in FLOPs (C = 6ND), each > 0 and at most {MAX_COMPUTE:g}, e.g. [1e24]."))
    law: str = Field("epoch", description=(
        "Which law: a published joint one (epoch = Besiroglu et al. 2024 refit, the default; hoffmann = the "
        "Chinchilla paper's approach 3; epoch_hoffmann_procedure; sardana = Hoffmann's with the unrounded exponents "
        "Sardana et al. 2024 use), the data-constrained muennighoff (Muennighoff et al. 2023), a path to "
        "fit_scaling_law's JSON output of form chinchilla or data_constrained (its params and bootstrap replicates "
        "are used), or a path to a CSV of runs (N, D or C, loss), fitted here with the joint law."))
    params: JointParams | None = Field(None, description="Explicit joint-law parameters; override `law` when given.")
    bootstrap: int = Field(0, ge=0, le=MAX_BOOTSTRAP, description="With a CSV law: bootstrap replicates for intervals on N_opt and D_opt.")
    seed: int = Field(0, ge=0, le=2**32 - 1, description="Bootstrap seed (0 to 2^32 - 1).")
    level: float = Field(0.95, gt=0.5, lt=1.0, description="Confidence level of intervals.")
    time_limit_s: float = Field(limits.DEFAULT_TIME_LIMIT_S, gt=0, le=limits.MAX_TIME_LIMIT_S, description=(
        "Wall-clock bound on the whole call, seconds; a bootstrap cut short by it sets `truncated`."))
    inference_tokens: float | None = Field(None, ge=0, le=1e18, description=(
        "Inference-aware allocation (Sardana et al. 2024): lifetime inference tokens (prompt plus generated) the model "
        "will serve, 0 to 1e18. Each row then also gives the N and D that reach the loss of the compute-optimal model "
        "at its `compute` with the fewest training plus inference FLOPs (6ND + 2N x tokens); 0 gives back the "
        "compute-optimal allocation."))
    unique_tokens: float | None = Field(None, ge=1, le=1e16, description=(
        "Data-constrained allocation (Muennighoff et al. 2023): unique training tokens available (1 to 1e16). "
        "Each row then also gives the compute-optimal N and D when tokens beyond this many are repeats (epochs), "
        "from a data-constrained law (law='muennighoff', or a fit JSON of form data_constrained); a joint law "
        "borrows Muennighoff's decay constants, with a warning."))

    @model_validator(mode="after")
    def _one_variant(self) -> "Input":
        if self.inference_tokens is not None and self.unique_tokens is not None:
            raise ValueError("give `inference_tokens` or `unique_tokens`, not both: the inference-aware and the "
                             "data-constrained allocation are separate questions (run the tool once for each)")
        return self


class Allocation(BaseModel):
    compute: float = Field(description="FLOPs.")
    N_opt: float = Field(description="Compute-optimal parameters.")
    D_opt: float = Field(description="Compute-optimal training tokens.")
    tokens_per_param: float
    loss: float = Field(description="Predicted loss at the optimum.")
    intervals: dict[str, Band] | None = Field(None, description=(
        "Bootstrap intervals: from a fit JSON that carries its bootstrap replicates, or a CSV law fitted here with bootstrap."))
    extrapolation_decades: float | None = Field(None, description="How far the budget lies beyond the fitted data's compute (decades), when known.")
    inference_aware: InferenceAware | None = Field(None, description="With inference_tokens: the model of the same loss with the fewest lifetime FLOPs.")
    data_constrained: DataConstrained | None = Field(None, description="With unique_tokens: the optimum when only that many tokens are unique.")


class Output(BaseModel):
    truncated: bool = Field(False, description="The time bound stopped the bootstrap before all replicates: intervals "
                                               "rest on fewer replicates than asked.")
    law: str
    source: str
    params: dict[str, float]
    allocation_exponents: dict[str, float] = Field(description="N_opt ~ C^a, D_opt ~ C^b.")
    allocations: list[Allocation]
    warnings: list[dict]
    notes: list[str]


DESCRIPTION = """
Compute-optimal model size and data for a training budget: N_opt, D_opt, tokens per
parameter and predicted loss for each compute C (FLOPs, C = 6ND), from the joint law
E + A/N^alpha + B/D^beta. Use it to size a run before training, or after fit_scaling_law
with your own fitted law (pass `params`, the fit's JSON output path, or the runs CSV with
bootstrap for intervals). Default law: Epoch's refit of Chinchilla (about 20 tokens per
parameter); `hoffmann` gives the paper's own fit for comparison. Closed form: N_opt =
G (C/6)^(beta/(alpha+beta)), G = (alpha A / (beta B))^(1/(alpha+beta)).
- inference_tokens T (Sardana et al. 2024): each row also gets `inference_aware`, the N and D
  that reach the same loss with the fewest lifetime FLOPs 6ND + 2NT (a smaller model trained
  on more tokens: tokens per parameter, the FLOPs saved); T = 0 is the compute-optimal model.
- unique_tokens U (Muennighoff et al. 2023): each row also gets `data_constrained`, the
  optimum when tokens beyond U are repeats (epochs, the worth of a repeated token, the loss
  the Chinchilla allocation would get with repeats counted); law='muennighoff' or a
  data_constrained fit; a joint law borrows Muennighoff's decay constants (warned).
"""

EXAMPLE = {"compute": [1e21, 1e23, 1e24], "law": "epoch"}


def _from_published(name: str) -> tuple[dict, str]:
    entry = knowledge.published_law(name)
    if entry["form"] not in ("chinchilla", "data_constrained"):
        raise InputError("law", f"law must be a joint (N, D) law such as {list(JOINT_LAWS)} or a data-constrained one "
                                f"{list(DATA_CONSTRAINED_LAWS)}; {name!r} is a {entry['form']} law")
    return entry["params"], entry["source"]


def _read_law_file(given: str) -> str:
    """The law file's text, read under the server's file-access rule."""
    try:
        return file_access.read_text(given, "law")
    except InputError as exc:
        if "not a readable file" not in str(exc):
            raise
        raise InputError("law", f"law must be one of {list(JOINT_LAWS)} or a path to a fit JSON or runs CSV; "
                                f"got {given!r}") from None


def _from_file(path: Path, inp: Input) -> tuple[dict, str, np.ndarray | None, float | None, bool]:
    text = _read_law_file(inp.law)
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:  # its message gives a position, never the text
            raise InputError("law", f"law file {str(path)!r} is not valid JSON: {exc}") from None
        return (*_from_fit_json(data, path), False)
    table = read_csv_text(text, get_form("chinchilla"), "law", quote=file_access.quote_content())
    res = fit("chinchilla", table.X, table.y, weights=table.weights)
    reps, truncated = None, False
    if inp.bootstrap:
        limits.check("the fit of the law file")
        boot = bootstrap(res, table.X, table.y, weights=table.weights, n_boot=inp.bootstrap, seed=inp.seed,
                         time_limit_s=max(limits.remaining(inp.time_limit_s) - 0.1, 0.01))
        reps, truncated = boot.values, boot.truncated
    max_c = float(np.max(6 * table.X[:, 0] * table.X[:, 1]))
    return res.params, f"joint law fitted to {path} ({res.n_runs} runs, summed Huber-log)", reps, max_c, truncated


def _from_fit_json(data: dict, path: Path) -> tuple[dict, str, np.ndarray | None, float | None]:
    """fit_scaling_law's JSON: its params, its bootstrap replicates (intervals) and its data range."""
    if not isinstance(data, dict):
        raise InputError("law", f"law file {str(path)!r} must hold a JSON object (fit_scaling_law's output)")
    form = data.get("form", "chinchilla")
    if form not in ("chinchilla", "data_constrained"):
        shown = repr(form) if file_access.quote_content() or form in forms.form_names() else "another"
        raise InputError("law", f"law file {str(path)!r} holds {shown} fit; the compute-optimal allocation here is the "
                                "joint law's (form chinchilla) or the data-constrained law's (form data_constrained): "
                                "refit with --form chinchilla, or compare the forms' predictions with fit --predict")
    order = DATA_ORDER if form == "data_constrained" else allocation.JOINT_ORDER
    params = data.get("params", data)
    try:
        extra = {k: float(params[k]) for k in order[5:]}
        params = {**JointParams(**{k: params.get(k) for k in allocation.JOINT_ORDER}).model_dump(), **extra}
    except (ValidationError, AttributeError, KeyError, TypeError, ValueError) as exc:
        raise InputError("law", f"law file {str(path)!r} lacks valid {form} params {list(order)}: "
                                f"{str(exc).splitlines()[0]}") from None
    if not all(np.isfinite(v) and v > 0 for v in extra.values()):
        raise InputError("law", f"law file {str(path)!r} needs R_D > 0 and R_N > 0; got {extra}")
    reps = (data.get("bootstrap") or {}).get("replicates")
    reps = np.asarray(reps, float) if reps else None
    if reps is not None and (reps.ndim != 2 or reps.shape[1] != len(order) or not np.all(np.isfinite(reps))):
        raise InputError("law", f"law file {str(path)!r} has bootstrap replicates of the wrong shape; expected rows of {list(order)}")
    try:  # the largest run's compute, for the extrapolation distance
        max_c = max(6.0 * float(r["at"]["N"]) * float(r["at"]["D"]) for r in data.get("runs_used") or [])
    except (KeyError, TypeError, ValueError):
        max_c = None
    source = f"fit in {path}" + (f" with {len(reps)} bootstrap replicates" if reps is not None else "")
    return params, source, reps, max_c


def run(inp: Input) -> Output:
    compute = np.array(inp.compute, float)
    if np.any(~np.isfinite(compute)) or np.any(compute <= 0):
        raise InputError("compute", f"compute must be positive FLOPs; got {inp.compute}")
    max_c, truncated = None, False
    warnings: list[dict] = []
    if inp.params is not None:
        params, source, reps, name = inp.params.model_dump(), "parameters given in the call", None, "custom"
    elif inp.law in JOINT_LAWS or inp.law in knowledge.published_law_names():
        params, source = _from_published(inp.law)
        reps, name = None, inp.law
    else:
        path = Path(inp.law)
        params, source, reps, max_c, truncated = _from_file(path, inp)
        name = str(path)
    if inp.law in ("hoffmann", "sardana") and inp.params is None:
        warnings.append({"code": "published_fit_disputed", "severity": "info",
                         "message": "Besiroglu et al. 2024 could not reproduce these parameters from Hoffmann's own data; "
                                    "their refit (law='epoch') gives ~20 tokens per parameter"})
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        central = allocation.compute_optimal(params, compute)
    if not all(np.all(np.isfinite(v)) for v in central.values()):
        raise InputError("params", f"the allocation overflows for these law parameters {params} at compute {inp.compute}: "
                                   "N_opt = G (C/6)^(beta/(alpha+beta)) needs exponents and amplitudes of ordinary size")
    tail = (1 - inp.level) / 2
    boot = allocation.compute_optimal(reps[:, :5], compute[:, None]) if reps is not None else None
    rows = []
    for i, c in enumerate(compute):
        intervals = None
        if boot is not None:
            intervals = {k: Band(low=float(np.quantile(boot[k][i], tail)), high=float(np.quantile(boot[k][i], 1 - tail)), level=inp.level)
                         for k in ("N_opt", "D_opt", "tokens_per_param", "loss")}
        ext = float(np.log10(c / max_c)) if max_c else None
        rows.append(Allocation(compute=float(c), **{k: float(central[k][i]) for k in ("N_opt", "D_opt", "tokens_per_param", "loss")},
                               intervals=intervals, extrapolation_decades=ext))
        if ext is not None and ext > 2:
            warnings.append({"code": "extrapolation_far", "severity": "warning",
                             "message": f"C = {c:.3g} lies {ext:.1f} decades beyond the largest fitted run; validate with a held-out larger run"})
    notes = ["C = 6ND training FLOPs; N counted as in the law's source"]
    if "R_D" in params and inp.unique_tokens is None:
        notes.append("a data-constrained law without unique_tokens: the rows are its base law's compute-optimal allocation "
                     "(every token fresh); pass unique_tokens for the data-constrained optimum")
    _variants(inp, params, reps, compute, rows, warnings, notes, fitted=name not in DATA_CONSTRAINED_LAWS)
    if reps is None:
        notes.append("no intervals: published laws come without their bootstrap replicates (Epoch reports the allocation "
                     "exponent a = 0.513, SE 0.020); fit your runs with bootstrap for intervals")
    exps = {k: float(v) for k, v in allocation.allocation_exponents(params).items()}
    params = {k: params[k] for k in (DATA_ORDER if "R_D" in params else allocation.JOINT_ORDER)}
    return Output(truncated=truncated, law=name, source=source, params={k: float(v) for k, v in params.items()}, allocation_exponents=exps,
                  allocations=rows, warnings=warnings, notes=notes)


def _variants(inp: Input, params: dict, reps, compute, rows: list[Allocation], warnings: list[dict], notes: list[str],
              fitted: bool) -> None:
    """Attach the inference-aware or data-constrained optimum to each row (in place)."""
    if inp.inference_tokens is not None:
        for row, extra in zip(rows, inference_rows(params, reps, compute, inp.inference_tokens, inp.level)):
            row.inference_aware = extra
        notes.append("inference-aware (Sardana et al. 2024): lifetime FLOPs 6 N D + 2 N T at the loss of each budget's "
                     "compute-optimal model; the rows' N_opt and D_opt stay the compute-optimal ones for comparison")
    if inp.unique_tokens is not None:
        dc, rule, how = data_constrained_params(params, fitted, warnings)
        for row, extra in zip(rows, data_constrained_rows(dc, rule, reps, compute, inp.unique_tokens, inp.level, warnings)):
            row.data_constrained = extra
        notes.append(f"data-constrained (Muennighoff et al. 2023) from {how}; the rows' N_opt and D_opt stay the "
                     "compute-optimal ones of the base law (every token fresh) for comparison")
