"""Training memory per device: model state (ZeRO), activations (Korthikanti et al. 2022),
sharding, the solver's result, its figure and its errors.

Expectations are derived by hand in each test from the papers' formulas:
- Rajbhandari et al. 2020, "ZeRO" (arXiv 1910.02054), §3.1 (K = 12 for mixed-precision Adam,
  16 B/param in all) and §5.1 / Figure 1 (Ψ = 7.5B, Nd = 64: 120, 31.4, 16.6, 1.88 GB).
- Korthikanti et al. 2022, "Reducing Activation Recomputation in Large Transformer Models"
  (arXiv 2205.05198), §4 and Table 2 (per-layer activations), §4.2.3 / §4.3 (pipeline and
  the embedding/output terms), §5 (selective recomputation saves 70 % of GPT-3's and 65 % of
  MT-NLG's activations), the abstract (5× less activation memory), §6 / Table 3 model shapes
  (s = 2048, v = 51200, t = 8; 175B: 96 layers, h 12288, a 96; 530B: 105, 20480, 128).
"""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mlsysim
from mlsysim.physics import memory as mem
from mlsysim.physics import training_memory as tm
from mlsysim.physics import transformer as tf
from mlsysim.solvers.training_memory import TrainingMemoryModel
from mlsysim.viz_training import plot_training_memory

M = TrainingMemoryModel()
S, V = 2048, 51200  # Korthikanti et al. §6: sequence length and vocabulary
GPT175 = dict(layers=96, d_model=12288, heads=96)
MTNLG530 = dict(layers=105, d_model=20480, heads=128)


def small(**kw):
    """A toy dense model without embeddings: params are all layer parameters."""
    base = dict(params=7e9, layers=32, d_model=4096, heads=32, seq_len=2048, microbatch=1)
    return tm.training_memory(**{**base, **kw})


# -- model state: 16 B/param Adam, ZeRO stages ------------------------------------------------
def test_mixed_precision_adam_is_16_bytes_per_parameter():
    # 2 (bf16 weights) + 2 (bf16 grads) + 4 (fp32 master) + 4 (momentum) + 4 (variance)
    b = small()
    assert b.weights == pytest.approx(2 * 7e9)
    assert b.gradients == pytest.approx(2 * 7e9)
    assert b.optimizer == pytest.approx(12 * 7e9)
    assert b.weights + b.gradients + b.optimizer == pytest.approx(112e9)  # 7e9 × 16 B
    assert mem.training_state_bytes(7e9) == pytest.approx(112e9)
    # fp32 training keeps no separate master copy: 4 + 4 + 8 = 16 B again
    b32 = small(weight_bytes=4.0, grad_bytes=4.0)
    assert b32.weights + b32.gradients + b32.optimizer == pytest.approx(112e9)


def test_sgd_with_momentum_is_12_bytes_per_parameter():
    # 2 + 2 + fp32 master 4 + one momentum buffer 4
    b = small(optimizer="sgd")
    assert b.optimizer == pytest.approx(8 * 7e9)
    assert b.weights + b.gradients + b.optimizer == pytest.approx(12 * 7e9)


@pytest.mark.parametrize("stage,expected_gb", [
    (0, 16 * 7),                  # 112 GB replicated
    (1, 4 * 7 + 12 * 7 / 8),      # Pos: 4Ψ + KΨ/Nd = 28 + 10.5 = 38.5 GB
    (2, 2 * 7 + 14 * 7 / 8),      # Pos+g: 2Ψ + (2+K)Ψ/Nd = 14 + 12.25 = 26.25 GB
    (3, 16 * 7 / 8),              # Pos+g+p: (4+K)Ψ/Nd = 14 GB
])
def test_zero_stages_shard_the_state_over_eight_ranks(stage, expected_gb):
    b = small(dp=8, zero_stage=stage)
    assert (b.weights + b.gradients + b.optimizer) / 1e9 == pytest.approx(expected_gb)


def test_zero_paper_figure_1_numbers():
    """ZeRO Figure 1: Ψ = 7.5B, K = 12, Nd = 64 → 120 GB, 31.4 GB, 16.6 GB, 1.88 GB."""
    published = {0: 120, 1: 31.4, 2: 16.6, 3: 1.88}
    for stage, gb in published.items():
        b = small(params=7.5e9, dp=64, zero_stage=stage)
        assert (b.weights + b.gradients + b.optimizer) / 1e9 == pytest.approx(gb, rel=0.01)


def test_zero_without_data_parallelism_changes_nothing():
    assert small(zero_stage=3).total == pytest.approx(small().total)


# -- activations: Korthikanti et al. Table 2 ---------------------------------------------------
def per_layer(recompute="none", tp=1, sp=False, **model):
    m = {**GPT175, **model}
    return tm.activation_bytes_per_layer(S, 1, m["d_model"], m["heads"], tp=tp,
                                         sequence_parallel=sp, recompute=recompute)


def test_table_2_rows_for_gpt3_175b_at_t8():
    # sbh with s = 2048, b = 1, h = 12288; 5as/h = 5·96·2048/12288 = 80, so 5as/(ht) = 10
    sbh = 2048 * 12288
    assert 5 * 96 * 2048 / 12288 == 80
    assert per_layer() == pytest.approx(sbh * (34 + 80))                       # Eq. 1
    assert per_layer(tp=8) == pytest.approx(sbh * (10 + 24 / 8 + 10))          # Eq. 2: 23
    assert per_layer(tp=8, sp=True) == pytest.approx(sbh * (34 / 8 + 10))      # 14.25
    assert per_layer("selective", tp=8) == pytest.approx(sbh * (10 + 24 / 8))  # 13
    assert per_layer("selective", tp=8, sp=True) == pytest.approx(sbh * 34 / 8)
    assert per_layer("full", tp=8) == pytest.approx(2 * sbh)                   # Table 2: 2sbh
    assert per_layer("full", tp=8, sp=True) == pytest.approx(2 * sbh / 8)


def test_existing_helper_is_the_same_formula():
    sbh = 2048 * 12288
    assert tf.activation_bytes_per_layer(2048, 1, 12288, 96) == pytest.approx(sbh * 114)
    assert tf.activation_bytes_per_layer(2048, 1, 12288, 96, recompute=True) == 2 * sbh


def test_selective_recomputation_saves_70_and_65_percent():
    """§5: 5as/h = 80 (GPT-3) and 64 (MT-NLG) against 34: selective recomputation removes
    70 % and 65 % of the activations."""
    for model, published in ((GPT175, 0.70), (MTNLG530, 0.65)):
        saved = 1 - per_layer("selective", **model) / per_layer(**model)
        assert saved == pytest.approx(published, abs=0.006)


def test_sequence_parallel_and_selective_recompute_cut_activations_5x():
    """Abstract: the two techniques reduce activation memory by 5× against the tensor
    parallel baseline (Eq. 2), t = 8 — here 23/4.25 = 5.4 (175B) and 21/4.25 = 4.9 (530B)."""
    for model in (GPT175, MTNLG530):
        ratio = per_layer(tp=8, **model) / per_layer("selective", tp=8, sp=True, **model)
        assert 4.5 < ratio < 5.5


def test_pipeline_first_stage_holds_all_layers_worth_plus_embedding_dropout():
    """§4.2.3: under 1F1B the first of p stages holds p microbatches of L/p layers — L layers
    of activations — and p embedding dropout masks of sbh/t (§4.3), for 530B (t 8, p 35)."""
    s, h, a, L, t, p = S, 20480, 128, 105, 8, 35
    sbh = s * h
    b = tm.training_memory(params=530e9, seq_len=s, microbatch=1, vocab=V, tp=t, pp=p,
                           sequence_parallel=True, in_flight=p, **MTNLG530)
    assert b.stage == "first"
    assert b.activations == pytest.approx(sbh * L / t * (34 + 5 * a * s / h) + p * sbh / t)
    # with 4 microbatches in flight (m < p) only 4 × L/p layers
    b4 = tm.training_memory(params=530e9, seq_len=s, microbatch=1, vocab=V, tp=t, pp=p,
                            sequence_parallel=True, in_flight=4, **MTNLG530)
    assert b4.activations == pytest.approx(4 * (L // p * sbh / t * (34 + 5 * a * s / h)
                                                 + sbh / t))


def test_interleaved_schedule_multiplies_the_first_stages_layers():
    """§4.2.3: with v model chunks per device the first stage holds 1 + (p − 1)/(p·v) times
    L layers' worth: 1 + 34/105 for 530B at p = 35, v = 3."""
    s, h, a, L, t, p = S, 20480, 128, 105, 8, 35
    sbh = s * h
    b = tm.training_memory(params=530e9, seq_len=s, microbatch=1, vocab=V, tp=t, pp=p,
                           sequence_parallel=True, in_flight=p, virtual_stages=3, **MTNLG530)
    layers = sbh * L / t * (34 + 5 * a * s / h)
    assert b.activations == pytest.approx(layers * (1 + 34 / 105) + p * sbh / t)
    with pytest.raises(ValueError, match="must divide the layers"):
        tm.training_memory(params=530e9, seq_len=s, microbatch=1, tp=t, pp=p,
                           virtual_stages=2, **MTNLG530)


def test_whole_model_adds_the_output_layer_term():
    """§4.3: with p = 1 the extra activations are (sbhL/t)·(p/L + (4/L)(1 + v/h)):
    embedding dropout sbh/t plus final norm, LM-head input and fp32 logits 4sbh/t(1 + v/h).
    22B shapes (48 layers, h 6144, a 64), t = 8 with sequence parallelism."""
    s, h, a, L, t = S, 6144, 64, 48, 8
    sbh = s * h
    b = tm.training_memory(params=22e9, layers=L, d_model=h, heads=a, seq_len=s, microbatch=1,
                           vocab=V, tp=t, sequence_parallel=True)
    layers = sbh * L / t * (34 + 5 * a * s / h)
    extra = sbh * L / t * (1 / L + 4 / L * (1 + V / h))
    assert b.activations == pytest.approx(layers + extra)


def test_context_parallelism_divides_activations():
    one, two = small(vocab=32000, params=7e9), small(vocab=32000, params=7e9, cp=2)
    assert two.activations == pytest.approx(one.activations / 2)
    assert two.weights == one.weights


def test_megatron_530b_fits_80_gb_only_with_the_paper_techniques():
    """Table 5: the 530B model trained at t = 8, p = 35 on 80 GB A100s with sequence
    parallelism and selective recomputation (no full recomputation); the baseline (Eq. 2
    activations, no recomputation) needs far more than 80 GB."""
    kw = dict(params=530e9, seq_len=S, microbatch=1, vocab=V, tp=8, pp=35, dp=8,
              in_flight=35, **MTNLG530)
    ours = tm.training_memory(sequence_parallel=True, recompute="selective", **kw)
    base = tm.training_memory(**kw)
    assert ours.total < 80e9 < base.total
    # model state by hand: (L/p layers of 12h² + the embedding) / t parameters × 16 B
    held = (105 // 35 * 12 * 20480**2 + V * 20480) / 8
    assert ours.weights + ours.gradients + ours.optimizer == pytest.approx(16 * held, rel=0.02)


# -- expert parallelism -------------------------------------------------------------------------
def test_experts_shard_by_ep_and_dense_by_tp():
    kw = dict(params=10e9, layers=8, d_model=1024, heads=8, seq_len=512, microbatch=1,
              expert_params=8e9, experts=8, experts_per_token=2)
    b = tm.training_memory(tp=2, ep=4, **kw)
    assert b.weights == pytest.approx(2 * (2e9 / 2 + 8e9 / 4))


def test_mixtral_solver_shards_experts():
    mix = mlsysim.Models.Mixtral_8x7B
    s = mix.si
    experts = s.layers * s.experts * 3 * s.d_model * s.ffn_dim * s.params / mix.shape_parameters
    r = M.solve(mix, "H100", seq_len=4096, ep=8)
    assert r.weights.to("B").magnitude == pytest.approx(2 * (s.params - experts + experts / 8))


# -- properties -----------------------------------------------------------------------------------
CONFIG = st.fixed_dictionaries({
    "tp": st.sampled_from([1, 2, 4, 8]), "pp": st.sampled_from([1, 2, 4]),
    "zero_stage": st.sampled_from([0, 1, 2, 3]),
    "recompute": st.sampled_from(["none", "selective", "full"]),
    "sequence_parallel": st.booleans(), "microbatch": st.integers(1, 8),
    "seq_len": st.sampled_from([512, 2048, 8192]), "in_flight": st.integers(1, 8),
    "optimizer": st.sampled_from(["adam", "sgd"]),
})


def gpt(**kw):
    return tm.training_memory(params=175e9, vocab=V, **GPT175, **kw)


@settings(max_examples=120, deadline=None)
@given(CONFIG, st.integers(1, 64), st.integers(1, 64))
def test_more_data_parallel_devices_never_raise_memory(cfg, dp1, dp2):
    lo, hi = sorted((dp1, dp2))
    a, b = gpt(dp=lo, **cfg), gpt(dp=hi, **cfg)
    assert b.total <= a.total * (1 + 1e-12)
    for part in ("weights", "gradients", "optimizer", "activations"):
        assert getattr(b, part) <= getattr(a, part) * (1 + 1e-12)
    assert all(math.isfinite(x) and x > 0 for x in (b.weights, b.activations, b.total))


@settings(max_examples=120, deadline=None)
@given(CONFIG, st.sampled_from([1, 2, 3, 4, 6, 8, 12, 16, 24, 32]), st.sampled_from([1, 2, 4]))
def test_more_tensor_or_context_parallel_devices_never_raise_memory(cfg, tp2, cp):
    """Every device count that divides the heads: tp = 1 ≤ tp2; cp = 1 ≤ cp."""
    narrow = gpt(**{**cfg, "tp": 1})
    assert gpt(**{**cfg, "tp": tp2}).total <= narrow.total * (1 + 1e-12)
    assert gpt(**{**cfg, "cp": cp}).total <= gpt(**cfg).total * (1 + 1e-12)


@settings(max_examples=120, deadline=None)
@given(CONFIG, st.integers(1, 16))
def test_full_le_selective_le_none_and_sp_le_no_sp(cfg, dp):
    cfg = {**cfg, "dp": dp}
    by_mode = [gpt(**{**cfg, "recompute": m}).activations for m in ("full", "selective", "none")]
    assert by_mode[0] <= by_mode[1] <= by_mode[2]
    sp = gpt(**{**cfg, "sequence_parallel": True}).activations
    assert sp <= gpt(**{**cfg, "sequence_parallel": False}).activations


# -- the solver ------------------------------------------------------------------------------------
def test_solver_result_quantities_and_feasibility():
    r = M.solve("Llama2_7B", "H100", seq_len=4096)
    s = mlsysim.Models.Llama2_7B.si
    assert r.bytes_per_parameter == 16
    assert r.weights.to("B").magnitude == pytest.approx(2 * s.params)
    assert r.optimizer_state.to("B").magnitude == pytest.approx(12 * s.params)
    total = sum(q.to("B").magnitude for q in (r.weights, r.gradients, r.optimizer_state,
                                              r.activations))
    assert r.total.to("B").magnitude == pytest.approx(total)
    assert r.capacity == mlsysim.Hardware.H100.memory.usable
    assert not r.feasible  # 16 × 6.74e9 = 108 GB of state alone > 84 GB
    assert "model state alone" in r.constraint_trace[0]
    fits = M.solve("Llama2_7B", "H100", seq_len=4096, dp=8, zero_stage=3,
                   activation_recomputation="full")
    assert fits.feasible and fits.constraint_trace == ()
    assert fits.total.to("B").magnitude <= fits.capacity.to("B").magnitude


def test_memory_breakdown_is_the_solvers_numbers():
    from mlsysim.solvers.training_memory import memory_breakdown
    kw = dict(seq_len=4096, tp=8, pp=4, dp=8, zero_stage=1, microbatch_count=8)
    b = memory_breakdown("Llama3_70B", **kw)
    r = M.solve("Llama3_70B", "H100", **kw)
    assert b.total == pytest.approx(r.total.to("B").magnitude)
    assert b.stage == r.stage == "first"


def test_engine_training_footprint_is_the_same_formula():
    """The engine's training footprint (whole model, one device) and the solver agree."""
    e = mlsysim.Engine.solve(mlsysim.Models.GPT3, mlsysim.Hardware.A100, is_training=True,
                             seq_len=2048, precision="bf16")
    r = M.solve(mlsysim.Models.GPT3, mlsysim.Hardware.A100, seq_len=2048)
    parts = {k: v.to("B").magnitude for k, v in e.footprint_breakdown.items()}
    assert parts["weights"] == pytest.approx(r.weights.to("B").magnitude)
    assert parts["activations"] == pytest.approx(r.activations.to("B").magnitude)
    assert parts["optimizer"] == pytest.approx(
        (r.gradients + r.optimizer_state).to("B").magnitude)


def test_pipeline_in_flight_is_min_of_stages_and_microbatches():
    r = M.solve("GPT3", "A100", seq_len=2048, tp=8, pp=8, microbatch_count=3,
                sequence_parallel=True)
    assert r.in_flight == 3 and r.stage == "first"
    assert M.solve("GPT3", "A100", tp=8, pp=8, microbatch_count=64).in_flight == 8
    assert M.solve("GPT3", "A100", microbatch_count=64).in_flight == 1


def test_result_renders_a_table_and_plain_data():
    r = M.solve("Llama2_7B", "H100", seq_len=4096, dp=8, zero_stage=2)
    html = r._repr_html_()
    assert "<table" in html and "Optimizer state" in html and "Activations" in html
    assert "INFEASIBLE" in str(M.solve("Llama2_7B", "H100"))
    d = r.to_dict()
    assert d["zero_stage"] == 2 and d["total"]["unit"] in ("B", "byte")
    assert d["bytes_per_parameter"] == 16


def test_plot_training_memory_draws_stacks_and_the_capacity_line():
    base = dict(seq_len=4096, dp=8)
    rs = {"DDP": M.solve("Llama2_7B", "H100", **base),
          "ZeRO-3": M.solve("Llama2_7B", "H100", zero_stage=3, **base)}
    fig = plot_training_memory(rs)
    ax = fig.axes[0]
    assert "(GB)" in ax.get_ylabel()
    assert len(ax.patches) == 2 * 4
    cap = rs["DDP"].capacity.to("GB").magnitude
    assert any(list(line.get_ydata()) == [cap, cap] for line in ax.get_lines())
    tops = sorted(p.get_y() + p.get_height() for p in ax.patches)[-2:]
    assert tops[-1] == pytest.approx(rs["DDP"].total.to("GB").magnitude)
    with pytest.raises(TypeError, match="TrainingMemoryModel results"):
        plot_training_memory([1, 2])
    matplotlib.pyplot.close("all")


# -- bad input: one clear line ------------------------------------------------------------------
@pytest.mark.parametrize("kw,message", [
    (dict(zero_stage=4), "zero_stage must be 0, 1, 2 or 3; got 4"),
    (dict(zero_stage=True), "zero_stage must be 0, 1, 2 or 3"),
    (dict(activation_recomputation="some"), "activation_recomputation must be one of none"),
    (dict(tp=5), "tp=5 must divide"),
    (dict(pp=5), "pp=5 must divide"),
    (dict(ep=2), "dense model"),
    (dict(batch_size=0), "batch_size must be a positive integer"),
    (dict(dp=-1), "dp must be a positive integer"),
    (dict(seq_len=-5), "seq_len must be a positive integer"),
    (dict(optimizer="lion"), "optimizer must be one of adam, sgd"),
    (dict(precision="int8"), "precision must be one of"),
    (dict(sequence_parallel="yes"), "sequence_parallel must be True or False"),
    (dict(cp=3, seq_len=4096), "cp=3 must divide seq_len"),
])
def test_bad_input_is_one_clear_line(kw, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")) as err:
        M.solve("Llama2_7B", "H100", **kw)
    assert "\n" not in str(err.value)


def test_cnn_and_physics_errors():
    with pytest.raises(ValueError, match="per-sample network"):
        M.solve("ResNet50", "H100")
    with pytest.raises(ValueError, match="zero_stage must be 0, 1, 2 or 3; got 4"):
        small(zero_stage=4)
    with pytest.raises(ValueError, match="pp=3 must divide the layers"):
        small(pp=3)
    with pytest.raises(ValueError, match="seq_len must be a positive integer"):
        small(seq_len=0)
    with pytest.raises(ValueError, match="activation_recomputation must be one of"):
        small(recompute="partial")
    with pytest.raises(ValueError, match="params must be positive"):
        small(params=float("nan"))
    with pytest.raises(ValueError, match="params must be positive"):
        small(params=float("inf"))
