"""downstream_prediction: the Input and Output models."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ...laws.bootstrap import MAX_BOOTSTRAP

MAX_LADDER_RUNS = 10_000   # a ladder is tens of runs; the batched bootstrap holds (replicates x runs) arrays


class LadderRun(BaseModel):
    """One rung of a model ladder: its size, its data, its task loss and its metric."""

    model_config = ConfigDict(extra="allow")
    N: float | None = Field(None, ge=1e-30, le=1e30, description="Parameters.")
    D: float | None = Field(None, ge=1e-30, le=1e30, description="Training tokens (or give C).")
    C: float | None = Field(None, ge=1e-30, le=1e35, description="Training FLOPs; D = C / (6N) when D is absent.")
    loss: float | None = Field(None, description="Task loss (nats per token of the correct answers, or the column named by loss_column).")
    accuracy: float | None = Field(None, description="The task metric as a fraction in [0, 1] (or the column named by metric_column).")
    role: str | None = Field(None, description="fit (default) or validation (held out, predicted from N and D, then scored).")


class Target(BaseModel):
    model_config = ConfigDict(extra="forbid")
    N: float = Field(ge=1e-30, le=1e30, description="Parameters.")
    D: float = Field(ge=1e-30, le=1e30, description="Training tokens.")


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")
    runs: list[LadderRun] | None = Field(None, max_length=MAX_LADDER_RUNS, description=(
        f"The ladder's runs as rows (at most {MAX_LADDER_RUNS:,}); or give csv_path or csv_text."))
    csv_path: str | None = Field(None, description="Path to a CSV with columns N, D (or C), the task loss and the metric.")
    csv_text: str | None = Field(None, description="CSV content, same columns as csv_path.")
    loss_column: str = Field("loss", min_length=1, max_length=100, description=(
        "The column holding step 1's target, the task loss (e.g. task_loss; default loss)."))
    metric_column: str = Field("accuracy", min_length=1, max_length=100, description=(
        "The column holding the task metric, a fraction in [0, 1] (e.g. accuracy, acc_norm)."))
    direction: Literal["higher_is_better", "lower_is_better"] = Field("higher_is_better", description=(
        "The metric's direction, as metric_specification gives it: higher_is_better for an accuracy (it falls as the "
        "task loss rises), lower_is_better for an error rate (it rises with the task loss)."))
    floor: float | None = Field(None, ge=0, lt=1, description=(
        "Fix the sigmoid's chance level (e.g. 0.25 for four-way multiple choice); default: fitted."))
    predict_at: list[Target] | None = Field(None, max_length=100, description=(
        "Where to predict the metric (default: 10x the largest model at its tokens per parameter)."))
    bootstrap: int = Field(1000, ge=0, le=MAX_BOOTSTRAP, description=(
        "Bootstrap replicates over runs, each refitting both steps (0 = no intervals)."))
    level: float = Field(0.9, gt=0.5, lt=1.0, description="Confidence level of the intervals.")
    seed: int = Field(0, ge=0, le=2**32 - 1, description="Seed of the bootstrap resampling.")

    @model_validator(mode="after")
    def _one_source(self):
        given = [n for n in ("runs", "csv_path", "csv_text") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of runs, csv_path or csv_text; got {given or 'none'}")
        if self.bootstrap == 1:
            raise ValueError("bootstrap must be 0 (off) or >= 2 replicates; got 1")
        return self


class Band(BaseModel):
    low: float
    high: float
    level: float


class Diagnostic(BaseModel):
    code: str
    severity: str
    message: str


class StepOne(BaseModel):
    equation: str
    params: dict[str, float] = Field(description="Joint-law parameters of the task loss (never rounded).")
    intervals: dict[str, Band] | None = None
    sigma_log: float = Field(description="Robust scale of the log residuals.")
    converged: bool
    n_runs: int


class StepTwo(BaseModel):
    equation: str
    params: dict[str, float] = Field(description="low (chance), high (ceiling), k (steepness per nat), L0 (midpoint task loss).")
    intervals: dict[str, Band] | None = None
    residual_sd: float = Field(description="Standard deviation of the metric about the sigmoid.")
    task_loss_range: list[float] = Field(description="Smallest and largest task loss the sigmoid was fitted on.")
    converged: bool
    n_runs: int


class Prediction(BaseModel):
    at: dict[str, float]
    task_loss: float
    task_loss_interval: Band | None = None
    metric: float = Field(description="Predicted metric (a fraction) at the point: step 2 of step 1's task loss.")
    interval: Band | None = Field(None, description="Bootstrap interval of the metric (both steps refitted per replicate).")
    prediction_interval: Band | None = Field(None, description="For one evaluation: adds the metric's residual noise.")
    decades_beyond_data: float = Field(description="How far N or D lies beyond the fitted runs (decades).")
    task_loss_beyond_fit: bool = Field(description="Whether the predicted task loss lies outside the losses step 2 was fitted on.")


class Validation(BaseModel):
    at: dict[str, float]
    task_loss: float
    predicted_task_loss: float
    metric: float | None
    predicted_metric: float
    error_points: float | None = Field(None, description="(predicted - observed) metric x 100.")
    inside_interval: bool | None = None


class Output(BaseModel):
    direction: str
    step1: StepOne
    step2: StepTwo
    predictions: list[Prediction]
    validation: list[Validation]
    runs_used: list[dict[str, float | None]] = Field(description="The fitted runs: N, D, loss (task loss), metric (None when absent).")
    n_runs: int
    n_skipped: int
    bootstrap: dict
    warnings: list[Diagnostic]
    notes: list[str]
