"""compute_optimal_allocation: the best N and D for a compute budget from a fitted or published law."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .. import knowledge
from ..errors import InputError
from ..laws import allocation
from ..laws.bootstrap import MAX_BOOTSTRAP, bootstrap
from ..laws.fit import fit
from ..laws.forms import get_form
from .runs_io import read_csv_text

JOINT_LAWS = ("epoch", "hoffmann", "epoch_hoffmann_procedure")


class JointParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    E: float = Field(ge=0, le=1e3, description="Irreducible loss (nats/token).")
    A: float = Field(ge=1e-30, le=1e30, description="Amplitude of the parameter term.")
    B: float = Field(ge=1e-30, le=1e30, description="Amplitude of the data term.")
    alpha: float = Field(ge=1e-3, le=5, description="Parameter exponent (1e-3 to 5; the allocation divides by it).")
    beta: float = Field(ge=1e-3, le=5, description="Data exponent (1e-3 to 5).")


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")
    compute: list[float] = Field(min_length=1, max_length=1000, description="Training compute budgets in FLOPs (C = 6ND), e.g. [1e24].")
    law: str = Field("epoch", description=(
        "Which joint law: a published one (epoch = Besiroglu et al. 2024 refit, the default; hoffmann = the "
        "Chinchilla paper's approach 3; epoch_hoffmann_procedure), a path to fit_scaling_law's JSON output "
        "(its params are used), or a path to a CSV of runs (N, D or C, loss), fitted here with the joint law."))
    params: JointParams | None = Field(None, description="Explicit joint-law parameters; override `law` when given.")
    bootstrap: int = Field(0, ge=0, le=MAX_BOOTSTRAP, description="With a CSV law: bootstrap replicates for intervals on N_opt and D_opt.")
    seed: int = Field(0, description="Bootstrap seed.")
    level: float = Field(0.95, gt=0.5, lt=1.0, description="Confidence level of intervals.")


class Band(BaseModel):
    low: float
    high: float
    level: float


class Allocation(BaseModel):
    compute: float = Field(description="FLOPs.")
    N_opt: float = Field(description="Compute-optimal parameters.")
    D_opt: float = Field(description="Compute-optimal training tokens.")
    tokens_per_param: float
    loss: float = Field(description="Predicted loss at the optimum.")
    intervals: dict[str, Band] | None = Field(None, description=(
        "Bootstrap intervals: from a fit JSON that carries its bootstrap replicates, or a CSV law fitted here with bootstrap."))
    extrapolation_decades: float | None = Field(None, description="How far the budget lies beyond the fitted data's compute (decades), when known.")


class Output(BaseModel):
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
"""

EXAMPLE = {"compute": [1e21, 1e23, 1e24], "law": "epoch"}


def _from_published(name: str) -> tuple[dict, str]:
    entry = knowledge.published_law(name)
    if entry["form"] != "chinchilla":
        raise InputError("law", f"law must be a joint (N, D) law such as {list(JOINT_LAWS)}; {name!r} is a {entry['form']} law")
    return entry["params"], entry["source"]


def _from_file(path: Path, inp: Input) -> tuple[dict, str, np.ndarray | None, float | None]:
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InputError("law", f"law file {str(path)!r} is not valid JSON: {exc}") from None
        return _from_fit_json(data, path)
    table = read_csv_text(path.read_text(encoding="utf-8"), get_form("chinchilla"), "law")
    res = fit("chinchilla", table.X, table.y, weights=table.weights)
    reps = None
    if inp.bootstrap:
        reps = bootstrap(res, table.X, table.y, weights=table.weights, n_boot=inp.bootstrap, seed=inp.seed).values
    max_c = float(np.max(6 * table.X[:, 0] * table.X[:, 1]))
    return res.params, f"joint law fitted to {path} ({res.n_runs} runs, summed Huber-log)", reps, max_c


def _from_fit_json(data: dict, path: Path) -> tuple[dict, str, np.ndarray | None, float | None]:
    """fit_scaling_law's JSON: its params, its bootstrap replicates (intervals) and its data range."""
    if not isinstance(data, dict):
        raise InputError("law", f"law file {str(path)!r} must hold a JSON object (fit_scaling_law's output)")
    form = data.get("form", "chinchilla")
    if form != "chinchilla":
        raise InputError("law", f"law file {str(path)!r} holds a {form!r} fit; the compute-optimal allocation here is the "
                                "joint law's (form chinchilla): refit with --form chinchilla, or compare the forms' "
                                "predictions with fit --predict")
    params = data.get("params", data)
    try:
        params = JointParams(**{k: params.get(k) for k in allocation.JOINT_ORDER}).model_dump()
    except (ValidationError, AttributeError) as exc:
        raise InputError("law", f"law file {str(path)!r} lacks valid joint-law params {list(allocation.JOINT_ORDER)}: "
                                f"{str(exc).splitlines()[0]}") from None
    reps = (data.get("bootstrap") or {}).get("replicates")
    reps = np.asarray(reps, float) if reps else None
    if reps is not None and (reps.ndim != 2 or reps.shape[1] != 5 or not np.all(np.isfinite(reps))):
        raise InputError("law", f"law file {str(path)!r} has bootstrap replicates of the wrong shape; expected rows of {list(allocation.JOINT_ORDER)}")
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
    max_c = None
    warnings: list[dict] = []
    if inp.params is not None:
        params, source, reps, name = inp.params.model_dump(), "parameters given in the call", None, "custom"
    elif inp.law in JOINT_LAWS or inp.law in knowledge.published_law_names():
        params, source = _from_published(inp.law)
        reps, name = None, inp.law
    else:
        path = Path(inp.law).expanduser()
        try:
            readable = path.is_file()
        except (OSError, ValueError):  # e.g. a name too long for the file system
            readable = False
        if not readable:
            raise InputError("law", f"law must be one of {list(JOINT_LAWS)} or a path to a fit JSON or runs CSV; got {inp.law!r}")
        params, source, reps, max_c = _from_file(path, inp)
        name = str(path)
    if inp.law == "hoffmann" and inp.params is None:
        warnings.append({"code": "published_fit_disputed", "severity": "info",
                         "message": "Besiroglu et al. 2024 could not reproduce these parameters from Hoffmann's own data; "
                                    "their refit (law='epoch') gives ~20 tokens per parameter"})
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        central = allocation.compute_optimal(params, compute)
    if not all(np.all(np.isfinite(v)) for v in central.values()):
        raise InputError("params", f"the allocation overflows for these law parameters {params} at compute {inp.compute}: "
                                   "N_opt = G (C/6)^(beta/(alpha+beta)) needs exponents and amplitudes of ordinary size")
    tail = (1 - inp.level) / 2
    boot = allocation.compute_optimal(reps, compute[:, None]) if reps is not None else None
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
    if reps is None:
        notes.append("no intervals: published laws come without their bootstrap replicates (Epoch reports the allocation "
                     "exponent a = 0.513, SE 0.020); fit your runs with bootstrap for intervals")
    exps = {k: float(v) for k, v in allocation.allocation_exponents(params).items()}
    return Output(law=name, source=source, params={k: float(v) for k, v in params.items()}, allocation_exponents=exps,
                  allocations=rows, warnings=warnings, notes=notes)
