"""Design-space exploration: the multi-axis sweep (every sampled row equals a scalar
Engine.solve), the light tidy table without pandas, Pareto fronts against a brute-force
dominance check, and ``mlsysim sweep`` through cli_sweep's functions."""

import csv
import io
import json
import math
import sys

import numpy as np
import pytest

import mlsysim
from mlsysim import Engine, SweepResult, cli_sweep
from mlsysim import cli as cli_main
from mlsysim.design_space import COLUMNS, sweep_table
from mlsysim.pareto_front import ParetoFront, pareto, pareto_mask
from mlsysim.sweeps import sweep
from mlsysim.tidy import Categorical, Table

MODELS = ["Llama3_8B", "Llama3_70B", "BERT_Base", "ResNet50", "Mixtral_8x7B"]
DEVICES = ["H100", "A100", "T4", "MI300X", "Cerebras_CS3"]
BATCHES = [1, 3, 16, 128, 700]
CONTEXTS = [128, 500, 2048, 9000]  # 2048 and 9000 exceed BERT's 512; 9000 Llama-3's 8192


def _price(hw_key):
    p = mlsysim.Hardware.get(hw_key).price_per_hour
    return None if p is None else p.to("USD/h").magnitude


def _expected_rows():
    """Rows the sweep must hold, counted by hand from the catalog's limits."""
    n = 0
    for m in MODELS:
        spec = mlsysim.Models.get(m)
        contexts = [1] if spec.kind != "transformer" else [
            c for c in CONTEXTS if c <= spec.max_context]
        for h in DEVICES:
            for p in ("fp16", "fp8"):
                if p in mlsysim.Hardware.get(h).compute.precision_flops:
                    n += len(BATCHES) * len(contexts)
    return n


@pytest.fixture(scope="module")
def light():
    return sweep(models=MODELS, hardware=DEVICES, precisions=["fp16", "fp8"],
                 batch_sizes=BATCHES, seq_lens=CONTEXTS, table="light")


def _check_row(row, **kwargs):
    """The row against Engine.solve at the same inputs (to the last bit), cost by hand."""
    extra = {} if row["seq_len"] is None else {"seq_len": row["seq_len"]}
    e = Engine.solve(row["model"], row["hardware"], batch_size=row["batch_size"],
                     precision=row["precision"].split(" ")[0], **extra, **kwargs)
    assert row["latency_s"] == e.latency_s
    assert row["throughput"] == e.throughput.magnitude
    assert row["memory_gb"] == e.memory_footprint.to("B").magnitude / 1e9
    assert row["capacity_gb"] == e.capacity_bytes / 1e9
    assert row["feasible"] is e.feasible
    assert row["bottleneck"] == e.bottleneck
    assert row["arithmetic_intensity"] == e.arithmetic_intensity.magnitude
    assert row["precision"] == e.precision and row["phase"] == e.phase
    assert row["unit"] == e.unit and row["batch_size"] == e.batch_size
    price = _price(row["hardware"])
    if price is None:
        assert row["cost_per_mtok"] is None
    else:  # USD per hour / (units per second × 3600 s per hour) × 1e6 units
        expected = price / (e.throughput.magnitude * 3600.0) * 1e6
        assert row["cost_per_mtok"] == pytest.approx(expected, rel=1e-12)


def test_sampled_rows_equal_scalar_solves(light):
    assert len(light) == _expected_rows()
    rows = light.rows()
    rng = np.random.default_rng(12)
    for i in rng.choice(len(rows), size=60, replace=False):
        _check_row(rows[int(i)])
    # every model and every runnable device/precision is present
    assert set(light["model"]) == set(MODELS)
    assert set(zip(light["hardware"], light["precision"], strict=True)) == {
        (h, p) for h in DEVICES for p in ("fp16", "fp8")
        if p in mlsysim.Hardware.get(h).compute.precision_flops}


@pytest.mark.parametrize("kwargs", [
    {"is_training": True},
    {"phase": "prefill", "kv_precision": "fp8"},
    {"efficiency": 0.5, "memory_efficiency": 0.7, "cost_model": "roofline"},
])
def test_shared_arguments_reach_every_row(kwargs):
    t = sweep(models=["Llama3_8B", "GPT2"], hardware=["H100", "B200"],
              precisions=["bf16", "fp8"], batch_sizes=[1, 32], seq_lens=[256, 1024],
              table="light", **kwargs)
    assert len(t) == 2 * 2 * 2 * 2 * 2
    for row in t.rows():
        _check_row(row, **kwargs)


def test_row_order_and_a_single_model_grid_match_the_sweep_result():
    t = sweep(models=["Llama3_8B"], hardware=["H100", "A100"], precisions=["fp16", "bf16"],
              batch_sizes=[1, 2, 4], seq_lens=[512, 4096], table="light")
    # model, hardware, precision, batch size, context: the last varies fastest
    assert list(t["hardware"][:12]) == ["H100"] * 12 and list(t["hardware"][12:]) == ["A100"] * 12
    assert list(t["precision"][:12]) == ["fp16"] * 6 + ["bf16"] * 6
    assert list(t["batch_size"][:6]) == [1, 1, 2, 2, 4, 4]
    assert list(t["seq_len"][:6]) == [512, 4096] * 3
    one = sweep("Llama3_8B", "A100", batch_sizes=[1, 2, 4], seq_lens=[512, 4096],
                precision="bf16")
    assert isinstance(one, SweepResult)
    block = t.filter(hardware="A100", precision="bf16")
    assert (block["latency_s"] == one.latency_s.ravel()).all()
    assert (block["feasible"] == one.feasible.ravel()).all()


def test_skipped_combinations_are_listed(light):
    skipped = light.attrs["skipped"]
    assert any(s.startswith("A100 × fp8") for s in skipped)
    assert any(s.startswith("T4 × fp8") for s in skipped)
    assert any(s.startswith("Cerebras_CS3 × fp8") for s in skipped)
    assert any(s.startswith("BERT_Base:") and "512" in s and "2048" in s for s in skipped)
    assert any(s.startswith("Llama3_8B:") and "9000" in s for s in skipped)
    assert not any(s.startswith("H100 ×") for s in skipped)
    # per-sample networks have no context: one row per batch size, seq_len missing
    cnn = light.filter(model="ResNet50", hardware="H100", precision="fp16")
    assert len(cnn) == len(BATCHES) and cnn["seq_len"].mask.all()
    assert list(cnn["unit"]) == ["sample"] * len(BATCHES)
    assert set(light.filter(model="BERT_Base")["seq_len"].tolist()) == {128, 500}


def test_old_and_new_spellings():
    r = sweep("Llama3_8B", "H100", batch_sizes=[1, 2])
    assert isinstance(r, SweepResult) and r.shape == (2,)
    for call in (lambda: sweep("Llama3_8B", ["H100"], batch_sizes=[1, 2], table="light"),
                 lambda: sweep(["Llama3_8B"], "H100", batch_sizes=[1, 2], table="light"),
                 lambda: sweep("Llama3_8B", "H100", batch_sizes=[1, 2], table="light"),
                 lambda: sweep(models="Llama3_8B", hardware="H100", precisions="fp16",
                               batch_sizes=[1, 2], table="light")):
        t = call()
        assert isinstance(t, Table) and len(t) == 2
        assert (t["latency_s"] == r.latency_s).all()
    assert mlsysim.sweep is sweep


def test_a_modified_device_is_its_own_row():
    """What if the H100 had 5 TB/s? A modified spec sits beside the catalog's, labelled apart."""
    h100 = mlsysim.Hardware.H100
    faster = h100.replace({"memory.bandwidth": "5 TB/s"})
    t = sweep(models=["Llama3_8B"], hardware=[h100, faster], batch_sizes=[1], seq_lens=[1024],
              table="light")
    assert list(t["hardware"]) == ["H100", "H100 #2"]
    assert t["latency_s"][1] == Engine.solve("Llama3_8B", faster, seq_len=1024).latency_s
    assert t["latency_s"][1] < t["latency_s"][0]  # decode at batch 1 is memory-bound


def test_pandas_frame_holds_the_same_values(light):
    import pandas as pd  # in the dev environment (the classroom extra brings it)
    frame = sweep(models=MODELS, hardware=DEVICES, precisions=["fp16", "fp8"],
                  batch_sizes=BATCHES, seq_lens=CONTEXTS)
    assert isinstance(frame, pd.DataFrame) and list(frame.columns) == list(COLUMNS)
    assert len(frame) == len(light)
    assert frame.attrs["skipped"] == light.attrs["skipped"]
    assert (frame["latency_s"].to_numpy() == light["latency_s"]).all()
    assert (frame["model"].astype(str).to_numpy() == light["model"]).all()
    assert str(frame["seq_len"].dtype) == "Int64"
    assert frame["seq_len"].isna().sum() == int(light["seq_len"].mask.sum()) > 0
    assert str(frame["bottleneck"].dtype) == "category"


def test_light_table_without_pandas(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "pandas", None)  # `import pandas` now fails
    t = sweep(models=["Llama3_8B", "ResNet50"], hardware=["H100", "Jetson_Orin_Nano"],
              batch_sizes=[1, 64], seq_lens=[1024])
    assert isinstance(t, Table)
    with pytest.raises(ValueError, match="needs pandas"):
        sweep(models=["Llama3_8B"], hardware=["H100"], table="pandas")
    assert t.columns == list(COLUMNS) and len(t) == 8 and t.shape == (8, len(COLUMNS))
    # no per-row Python objects: text as integer codes, numbers as numpy arrays
    for name, col in t._cols.items():
        assert isinstance(col, Categorical | np.ndarray), name
        assert getattr(col, "dtype", np.dtype(int)).kind != "O"
    # access, filter, sort, head
    assert list(t["hardware"]) == ["H100"] * 2 + ["Jetson_Orin_Nano"] * 2 + \
        ["H100"] * 2 + ["Jetson_Orin_Nano"] * 2
    fast = t.filter(t["latency_s"] < 1e-3)
    assert len(fast) > 0 and (fast["latency_s"] < 1e-3).all()
    both = t.filter(t["batch_size"] == 64, model="Llama3_8B", feasible=True)
    assert list(both["hardware"]) == ["H100"]  # 16 GB of weights do not fit 8 GB
    assert len(t.filter(seq_len=1024)) == 4  # the CNN's missing contexts never match
    assert len(t[t["seq_len"] == 1024]) == 4 and len(t[[0, 2]]) == 2  # as pandas' df[mask]
    assert (t[t["latency_s"] < 1e-3]["latency_s"] == fast["latency_s"]).all()
    ordered = t.sort("latency_s")
    assert (np.diff(ordered["latency_s"]) >= 0).all()
    assert t.sort(["model", "latency_s"], descending=True)["model"][0] == "ResNet50"
    assert len(t.head(3)) == 3
    with pytest.raises(KeyError, match="did you mean 'latency_s'"):
        t["latency"]
    with pytest.raises(ValueError, match="mask"):
        t.filter(np.ones(3, dtype=bool))
    # rows: plain Python values, missing as None; Jetson has no catalog price
    rows = t.rows()
    assert rows[0]["model"] == "Llama3_8B" and isinstance(rows[0]["batch_size"], int)
    assert rows[4]["seq_len"] is None and rows[4]["unit"] == "sample"
    assert rows[2]["hardware"] == "Jetson_Orin_Nano" and rows[2]["cost_per_mtok"] is None
    # CSV: a header, one line per row, values that round-trip, missing as empty
    parsed = list(csv.DictReader(io.StringIO(t.to_csv())))
    assert len(parsed) == 8 and list(parsed[0]) == list(COLUMNS)
    for line, row in zip(parsed, rows, strict=True):
        assert float(line["latency_s"]) == row["latency_s"]
        assert line["seq_len"] == ("" if row["seq_len"] is None else str(row["seq_len"]))
        assert line["feasible"] == str(row["feasible"])
        assert line["cost_per_mtok"] == ("" if row["cost_per_mtok"] is None
                                         else repr(row["cost_per_mtok"]))
    path = tmp_path / "t.csv"
    assert t.to_csv(path) is None and path.read_text() == t.to_csv()
    # JSON: strict (null, never NaN), the same records
    records = json.loads(t.to_json())
    assert records == rows and "NaN" not in t.to_json()
    assert t.to_dict()["model"] == [r["model"] for r in rows]
    assert "8 rows" in repr(t)


def _brute_front(points):
    """O(n²): a row is on the front unless some row is ≤ in every column and < in one."""
    keep = []
    for i, p in enumerate(points):
        keep.append(not any(all(q[k] <= p[k] for k in range(len(p))) and
                            any(q[k] < p[k] for k in range(len(p)))
                            for j, q in enumerate(points) if j != i))
    return np.array(keep, dtype=bool)


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_pareto_mask_matches_brute_force(k):
    rng = np.random.default_rng(100 + k)
    for trial in range(30):
        n = int(rng.integers(0, 160))
        if trial % 3 == 0:  # coarse grid: many ties and duplicate points
            pts = rng.integers(0, 5, size=(n, k)).astype(float)
        else:
            pts = rng.normal(size=(n, k))
        assert (pareto_mask(pts) == _brute_front(pts.tolist())).all()
        directions = ["max"] + ["min"] * (k - 1)
        flipped = pts.copy()
        flipped[:, 0] *= -1
        assert (pareto_mask(pts, directions) == _brute_front(flipped.tolist())).all()


def test_pareto_on_a_hand_made_table():
    # latency (s), cost (USD/Mtok); by hand: B beats C (same cost, faster) and D (faster,
    # cheaper); H ties B exactly (both stay); F is infeasible though it would beat A;
    # I has no price. The front: A (fastest), B, H, E (cheapest).
    names = ["A", "B", "C", "D", "E", "F", "G", "H", "I"]
    latency = np.array([1.0, 2.0, 3.0, 2.5, 4.0, 0.5, 5.0, 2.0, 0.1])
    cost = np.array([10.0, 5.0, 5.0, 6.0, 1.0, 9.0, 1.5, 5.0, np.nan])
    feasible = np.array([True, True, True, True, True, False, True, True, True])
    t = Table({"name": Categorical(np.arange(9), tuple(names)), "latency_s": latency,
               "cost_per_mtok": cost, "feasible": feasible})
    result = pareto(t, objectives={"latency_s": "min", "cost_per_mtok": "min"})
    assert isinstance(result, ParetoFront)
    assert list(result.front["name"]) == ["A", "B", "H", "E"]  # fastest first
    assert sorted(result.dominated["name"]) == ["C", "D", "G"]
    assert sorted(result.excluded["name"]) == ["F", "I"]
    front, dominated = result
    assert len(front) == len(result) == 4 and len(dominated) == 3
    assert list(np.flatnonzero(result.on_front)) == [0, 1, 4, 7]
    # throughput-like objective to maximise: 1/latency; cost; same front
    t2 = Table({"name": t._cols["name"], "speed": 1 / latency, "cost_per_mtok": cost,
                "feasible": feasible})
    again = pareto(t2, objectives={"speed": "max", "cost_per_mtok": "min"})
    assert list(again.front["name"]) == ["A", "B", "H", "E"]


def test_pareto_of_a_sweep_never_keeps_infeasible_rows(light):
    result = pareto(light, {"latency_s": "min", "cost_per_mtok": "min"})
    assert len(result) > 0 and result.front["feasible"].all()
    assert not np.isnan(result.front["cost_per_mtok"]).any()
    assert len(result.front) + len(result.dominated) + len(result.excluded) == len(light)
    eligible = light["feasible"] & ~np.isnan(light["cost_per_mtok"])
    pts = np.column_stack([light["latency_s"], light["cost_per_mtok"]])[eligible]
    assert (result.on_front[eligible] == _brute_front(pts.tolist())).all()
    three = pareto(light, {"latency_s": "min", "cost_per_mtok": "min", "memory_gb": "min"})
    pts3 = np.column_stack([pts, light["memory_gb"][eligible]])
    assert (three.on_front[eligible] == _brute_front(pts3.tolist())).all()


def test_pareto_on_a_dataframe():
    import pandas as pd
    grid = {"models": ["Llama3_8B", "Llama3_70B"], "hardware": ["H100", "A100", "MI300X"],
            "batch_sizes": [1, 8, 64, 512], "seq_lens": [2048]}
    frame = sweep(**grid, table="pandas")
    result = pareto(frame)  # default: latency_s and cost_per_mtok, minimised
    assert isinstance(result.front, pd.DataFrame) and result.front["feasible"].all()
    assert (result.on_front == pareto(sweep(**grid, table="light")).on_front).all()
    # the front keeps the frame's index; fastest first, so cost falls along it
    assert set(result.front.index) == set(np.flatnonzero(result.on_front))
    assert (np.diff(result.front["latency_s"].to_numpy()) >= 0).all()
    assert (np.diff(result.front["cost_per_mtok"].to_numpy()) <= 0).all()


@pytest.mark.parametrize("objectives, match", [
    ({}, "non-empty"),
    ({"latency": "min"}, "did you mean 'latency_s'"),
    ({"latency_s": "fastest"}, "'min' or 'max'"),
    ({"model": "min"}, "numeric"),
])
def test_pareto_bad_objectives(light, objectives, match):
    with pytest.raises(ValueError, match=match):
        pareto(light, objectives)


def test_pareto_refuses_what_is_not_a_table():
    with pytest.raises(TypeError, match="DataFrame"):
        pareto([[1, 2]], {"a": "min"})
    with pytest.raises(ValueError, match="finite"):
        pareto_mask([[1.0, math.nan]])


@pytest.mark.parametrize("kwargs, match", [
    ({"models": [], "hardware": ["H100"]}, "models must not be empty"),
    ({"models": ["Llama3_8B"], "hardware": []}, "hardware must not be empty"),
    ({"models": ["Llama3_8B"], "hardware": ["H100"], "precisions": []}, "precisions must"),
    ({"models": ["Llama3_8B", "Llama3_8B"], "hardware": ["H100"]}, "twice"),
    ({"models": ["Lama3_8B"], "hardware": ["H100"]}, "did you mean 'Llama3_8B'"),
    ({"models": ["Llama3_8B"], "hardware": ["H10"]}, "did you mean 'H100'"),
    ({"models": ["Llama3_8B"], "hardware": ["DGX_H100"]}, "node"),
    ({"models": ["Llama3_8B"], "hardware": ["H100"], "batch_sizes": [8, -1]}, "batch_sizes"),
    ({"models": ["Llama3_8B"], "hardware": ["H100"], "batch_sizes": []}, "batch_sizes"),
    ({"models": ["Llama3_8B"], "hardware": ["H100"], "seq_lens": [0]}, "seq_lens"),
    ({"models": ["Llama3_8B"], "hardware": ["H100"], "precisions": ["fp9"]}, "precisions"),
    ({"models": ["Llama3_8B"], "hardware": ["H100"], "phase": "warmup"}, "phase"),
    ({"models": ["Llama3_8B"], "hardware": ["H100"], "efficiency": 2}, "efficiency"),
    ({"models": ["Llama3_8B"], "hardware": ["H100"], "table": "excel"}, "table"),
    ({"models": ["Llama3_8B"], "hardware": ["A100"], "precisions": ["fp8"]},
     "nothing in this sweep can run: A100 × fp8"),
    ({"models": ["GPT2"], "hardware": ["H100"], "seq_lens": [4096]}, "max_context of 1024"),
])
def test_bad_input_is_one_clear_line(kwargs, match):
    with pytest.raises(ValueError, match=match) as info:
        sweep(**kwargs)
    assert "\n" not in str(info.value)


def test_mixed_spellings_refused():
    with pytest.raises(TypeError, match="not both"):
        sweep("Llama3_8B", "H100", models=["GPT2"])
    with pytest.raises(TypeError, match="not both"):
        sweep(models=["GPT2"], hardware="H100", precision="bf16", precisions=["fp16"])
    with pytest.raises(TypeError, match="hardware"):
        sweep(models=["GPT2"])


def test_too_many_rows_refused_before_any_work(monkeypatch):
    import mlsysim.design_space as ds
    monkeypatch.setattr(ds, "MAX_ROWS", 100)
    with pytest.raises(ValueError, match="101 rows"):
        sweep_table(["Llama3_8B"], ["H100"], batch_sizes=list(range(1, 102)), table="light")


# -- the command line --------------------------------------------------------------------
def _args(*argv):
    parser = cli_main._Parser(prog="mlsysim")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=cli_main._Parser)
    cli_sweep.add_parser(sub, cli_main._positive_int, cli_main._fraction,
                         cli_main.PRECISION_CHOICES)
    return parser.parse_args(["sweep", *argv])


BASE = ("--models", "Llama3_8B,Llama3_70B", "--hardware", "H100,A100", "--precisions",
        "fp16,fp8", "--batch-sizes", "1,8,64", "--seq-lens", "2048")


def test_cli_text_and_json():
    text = cli_sweep.output(_args(*BASE))
    assert "Design space: 18 rows" in text  # 2 models × (H100: 2 precisions, A100: 1) × 3
    assert "skipped: A100 × fp8" in text and "Llama3_70B" in text and "<-- !" in text
    data = json.loads(cli_sweep.output(_args(*BASE, "--json")))
    assert data["columns"] == list(COLUMNS) and len(data["rows"]) == 18
    first = data["rows"][0]
    e = Engine.solve("Llama3_8B", "H100", batch_size=1, seq_len=2048)
    assert first["latency_s"] == e.latency_s and first["feasible"] is True
    front = cli_sweep.output(_args(*BASE, "--pareto"))
    assert front.startswith("Pareto front")


def test_cli_csv_never_loses_a_file(tmp_path):
    path = tmp_path / "grid.csv"
    out = cli_sweep.output(_args(*BASE, "--csv", str(path)))
    assert out.startswith(f"wrote 18 rows × {len(COLUMNS)} columns to {path}")
    rows = list(csv.DictReader(path.open()))
    assert len(rows) == 18 and rows[0]["model"] == "Llama3_8B"
    path.write_text("precious user data\n")
    with pytest.raises(ValueError, match="exists; pass --force"):
        cli_sweep.output(_args(*BASE, "--csv", str(path)))
    assert path.read_text() == "precious user data\n"
    cli_sweep.output(_args(*BASE, "--csv", str(path), "--force"))
    assert len(list(csv.DictReader(path.open()))) == 18
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grid.csv"]  # no temp file left
    with pytest.raises(ValueError, match="directory"):
        cli_sweep.output(_args(*BASE, "--csv", str(tmp_path)))
    with pytest.raises(ValueError, match="does not exist"):
        cli_sweep.output(_args(*BASE, "--csv", str(tmp_path / "no" / "x.csv")))
    with pytest.raises(ValueError, match="--force applies with --csv"):
        cli_sweep.output(_args(*BASE, "--force"))


def test_cli_exclusive_create_race(tmp_path, monkeypatch):
    """A file that appears between the check and the write is not overwritten."""
    path = tmp_path / "late.csv"
    table = cli_sweep.solve(_args(*BASE))
    real = cli_sweep.check_target

    def check_then_someone_writes(p, force):
        real(p, force)
        path.write_text("written meanwhile\n")
    monkeypatch.setattr(cli_sweep, "check_target", check_then_someone_writes)
    with pytest.raises(ValueError, match="exists"):
        cli_sweep.write_csv(table, str(path), force=False)
    assert path.read_text() == "written meanwhile\n"


@pytest.mark.parametrize("argv, match", [
    (("--models", "Lama3", "--hardware", "H100"), "unknown model 'Lama3'; did you mean"),
    (("--models", "Llama3_8B", "--hardware", "H10"), "did you mean 'H100'"),
    (("--models", "", "--hardware", "H100"), "--models must list at least one"),
    (("--models", "Llama3_8B,", "--hardware", "H100"), "--models has an empty item"),
    (("--models", "Llama3_8B", "--hardware", "H100", "--batch-sizes", "-1"),
     "--batch-sizes must be positive integers"),
    (("--models", "Llama3_8B", "--hardware", "H100", "--batch-sizes", "1,x"),
     "--batch-sizes must be positive integers"),
    (("--models", "Llama3_8B", "--hardware", "H100", "--seq-lens", "0"), "--seq-lens"),
    (("--models", "Llama3_8B", "--hardware", "H100", "--precisions", "fp9"), "precisions"),
])
def test_cli_bad_input(argv, match):
    with pytest.raises(ValueError, match=match) as info:
        cli_sweep.output(_args(*argv))
    assert "\n" not in str(info.value)
