"""Nothing lost: the CLI writes atomically, keeps a manifest, and never replaces a user's results unasked."""
from __future__ import annotations

import csv
import io
import json

import pytest

from scaling_design import outputs
from scaling_design.cli import commands as cli_commands
from scaling_design.cli import load_example, main
from scaling_design.outputs import MANIFEST_NAME, atomic_write, write_outputs
from scaling_design.results_carry import carry_over
from scaling_design.tools import get_tool

TEMPLATE = "results-template.csv"


@pytest.fixture(scope="module")
def plan():
    """The inference-scaling example planned once; every CLI run below reuses it (the writing is under test)."""
    return get_tool("scaling_design").call(load_example("inference-scaling"))


@pytest.fixture
def cached_plan(plan, monkeypatch):
    real = cli_commands.get_tool

    class _Cached:
        def call(self, arguments):
            return plan

    monkeypatch.setattr(cli_commands, "get_tool", lambda name: _Cached() if name == "scaling_design" else real(name))
    return plan


def _plan(capsys, folder, *flags):
    code = main(["plan", "--example", "inference-scaling", "--out", str(folder), "--no-plots", *flags])
    out, err = capsys.readouterr()
    return code, out, err


def _rows(path):
    return list(csv.DictReader(path.open(encoding="utf-8")))


def _fill_two_rows(folder):
    path = folder / TEMPLATE
    rows = _rows(path)
    header = list(rows[0])
    rows[0]["throughput"], rows[2]["throughput"] = "1234.5", "987.25"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path.read_text(encoding="utf-8"), [dict(rows[0]), dict(rows[2])]


def _settings(row):
    return {k: v for k, v in row.items() if k not in ("throughput", "ttft", "tpot", "e2e_latency", "cost_per_token",
                                                      "peak_memory", "run_id", "run_order", "block", "point")}


def test_replanning_over_filled_results_is_refused_with_one_line_naming_the_file_and_both_flags(cached_plan, capsys,
                                                                                                 tmp_path):
    assert _plan(capsys, tmp_path)[0] == 0
    filled_text, _ = _fill_two_rows(tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    code, out, err = _plan(capsys, tmp_path)
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert "results-template.csv" in err and "--force" in err and "--keep-results" in err and "2 filled rows" in err
    assert (tmp_path / TEMPLATE).read_text(encoding="utf-8") == filled_text
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # nothing at all was written


def test_keep_results_carries_the_filled_rows_onto_the_new_template(cached_plan, capsys, tmp_path):
    _plan(capsys, tmp_path)
    _, filled = _fill_two_rows(tmp_path)
    code, out, err = _plan(capsys, tmp_path, "--keep-results")
    assert code == 0, err
    rows = _rows(tmp_path / TEMPLATE)
    for old in filled:
        match = [r for r in rows if _settings(r) == _settings(old)]
        assert len(match) == 1 and match[0]["throughput"] == old["throughput"]
    assert sum(1 for r in rows if r["throughput"]) == 2
    assert "2 row(s) carried over, 0 not placed" in err
    assert (tmp_path / (TEMPLATE + ".bak")).is_file()


def test_force_replaces_the_template_and_keeps_the_old_one_beside_it(cached_plan, capsys, tmp_path):
    _plan(capsys, tmp_path)
    filled_text, _ = _fill_two_rows(tmp_path)
    code, out, err = _plan(capsys, tmp_path, "--force")
    assert code == 0, err
    assert all(r["throughput"] == "" for r in _rows(tmp_path / TEMPLATE))
    assert (tmp_path / (TEMPLATE + ".bak")).read_text(encoding="utf-8") == filled_text
    assert f"kept backup {tmp_path / (TEMPLATE + '.bak')}" in out
    _fill_two_rows(tmp_path)
    assert _plan(capsys, tmp_path, "--force")[0] == 0  # a second backup never replaces the first
    assert (tmp_path / (TEMPLATE + ".bak")).read_text(encoding="utf-8") == filled_text
    assert (tmp_path / (TEMPLATE + ".bak.2")).is_file()


def test_replanning_into_an_untouched_folder_needs_no_flag(cached_plan, capsys, tmp_path):
    assert _plan(capsys, tmp_path)[0] == 0
    manifest = json.loads((tmp_path / MANIFEST_NAME).read_text())
    assert set(manifest["files"]) == {"report.md", "plan.json", "design.csv", TEMPLATE}
    assert _plan(capsys, tmp_path)[0] == 0
    assert not list(tmp_path.glob("*.bak*"))


def test_any_file_changed_since_it_was_written_blocks_the_write(cached_plan, capsys, tmp_path):
    _plan(capsys, tmp_path)
    (tmp_path / "report.md").write_text("my notes\n", encoding="utf-8")
    code, _, err = _plan(capsys, tmp_path, "--keep-results")  # keep-results is about results only
    assert code == 2 and "report.md (changed since scaling-design wrote it)" in err
    assert (tmp_path / "report.md").read_text() == "my notes\n"


def test_a_file_there_before_any_manifest_counts_as_the_users(tmp_path):
    (tmp_path / "fit.png").write_bytes(b"someone else's figure")
    with pytest.raises(outputs.OverwriteRefused, match=r"fit\.png \(not written by scaling-design\).*--force"):
        write_outputs(tmp_path, {"fit.png": b"new"}, command="fit")
    result = write_outputs(tmp_path, {"fit.png": b"new"}, command="fit", force=True)
    assert (tmp_path / "fit.png").read_bytes() == b"new"
    assert [p.read_bytes() for p in result.backups] == [b"someone else's figure"]


def test_an_interrupted_write_leaves_the_old_file_whole_and_no_temporary_file(tmp_path, monkeypatch):
    target = tmp_path / TEMPLATE
    target.write_text("run_id,loss\nr0001,3.1\n", encoding="utf-8")

    def half_then_fail(handle, data):
        handle.write(data[: len(data) // 2])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(outputs, "_write_all", half_then_fail)
    with pytest.raises(OSError, match="No space left"):
        atomic_write(target, "run_id,loss\n" + "r0002,\n" * 1000)
    assert target.read_text(encoding="utf-8") == "run_id,loss\nr0001,3.1\n"
    assert [p.name for p in tmp_path.iterdir()] == [TEMPLATE]


def test_rows_that_find_no_run_are_kept_in_a_file_beside_never_dropped(cached_plan, capsys, tmp_path):
    _plan(capsys, tmp_path)
    path = tmp_path / TEMPLATE
    text = path.read_text(encoding="utf-8")
    header = text.splitlines()[0].split(",")
    stray = {c: "" for c in header} | {"run_id": "r9999", "seed": "1", "N": "1e9", "throughput": "42.0"}
    buf = io.StringIO()
    csv.DictWriter(buf, fieldnames=header, lineterminator="\n").writerow(stray)
    path.write_text(text + buf.getvalue(), encoding="utf-8")
    code, _, err = _plan(capsys, tmp_path, "--keep-results")
    assert code == 0, err
    unplaced = _rows(tmp_path / "results-unplaced.csv")
    assert [(r["run_id"], r["throughput"]) for r in unplaced] == [("r9999", "42.0")]
    assert "1 not placed" in err


def test_carry_over_matches_settings_not_run_ids_and_places_each_row_once():
    old = "run_id,N,seed,loss\nr0001,1e8,7,3.0\nr0002,1e8,7,2.9\nr0003,2e8,7,2.5\n"
    new = "run_id,N,seed,loss\nr0001,200000000.0,7,\nr0002,100000000.0,7,\n"
    result = carry_over(old, new, ["loss"])
    assert result.template_csv == "run_id,N,seed,loss\nr0001,200000000.0,7,2.5\nr0002,100000000.0,7,3.0\n"
    assert result.placed == 2 and result.unplaced == 1
    assert result.unplaced_csv == "run_id,N,seed,loss\nr0002,1e8,7,2.9\n"


def test_fit_figures_changed_by_the_user_are_kept_unless_forced(tmp_path, capsys):
    runs = tmp_path / "runs.csv"
    runs.write_text("N,loss\n" + "".join(f"{n:.6g},{2.0 + 400.0 / n ** 0.3:.12g}\n"
                                          for n in (1e6, 3e6, 1e7, 3e7, 1e8, 3e8, 1e9)), encoding="utf-8")
    figs = tmp_path / "figs"
    argv = ["fit", str(runs), "--form", "saturating", "--plots", str(figs)]
    assert main(argv) == 0 and main(argv) == 0  # untouched figures are replaced freely
    (figs / "fit.png").write_bytes(b"annotated by hand")
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "fit.png" in err and "--force" in err and (figs / "fit.png").read_bytes() == b"annotated by hand"
    assert main(argv + ["--force"]) == 0
    assert (figs / "fit.png.bak").read_bytes() == b"annotated by hand"
    assert (figs / "fit.png").stat().st_size > 5000
