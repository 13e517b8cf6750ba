"""ParallelismOptimizer: the fastest feasible tp × pp × dp × microbatch × ZeRO × recomputation
layout of a training step. Checked against a brute force over the same grid with
DistributedModel, the refusal counts against an independent enumeration, and the time budget
(≤ 2,000 configurations in ≤ 1 s)."""

from __future__ import annotations

import time

import pytest

import mlsysim
from mlsysim.fleet import Fleet
from mlsysim.solvers.distributed import DistributedModel
from mlsysim.solvers.parallelism_optimizer import ParallelismOptimizer

OPT = ParallelismOptimizer()
FLEET = Fleet("DGX_H100", 4, "InfiniBand_NDR")  # 32 GPUs


def _brute_force(model, fleet, batch, seq, zeros, modes):
    """Every layout of the grid the optimizer documents, solved one by one."""
    s, g = mlsysim.Models.get(model).si, fleet.node.count
    devices = g * fleet.count
    out, memory_refused = [], 0
    for tp in (t for t in range(1, g + 1) if g % t == 0 and s.heads % t == 0):
        for pp in (p for p in range(1, s.layers + 1) if s.layers % p == 0):
            if devices % (tp * pp) or batch % (devices // (tp * pp)):
                continue
            dp = devices // (tp * pp)
            local = batch // dp
            sizes = sorted({b for b in (2 ** k for k in range(12)) if local % b == 0} | {local})
            for b in sizes:
                for zero in (zeros if dp > 1 else zeros[:1]):
                    for mode in modes:
                        r = DistributedModel().solve(
                            model, fleet, batch_size=batch, seq_len=seq, tp_size=tp,
                            pp_size=pp, microbatch_count=local // b, zero_stage=zero,
                            activation_recomputation=mode)
                        if r.feasible:
                            out.append(r)
                        else:
                            memory_refused += 1
    out.sort(key=lambda r: (r.step_s, r.memory.total))
    return out, memory_refused


def test_the_search_finds_the_brute_force_top_k():
    zeros, modes = (0, 1, 3), ("none", "full")
    r = OPT.solve("Llama3_8B", FLEET, batch_size=64, seq_len=4096, zero_stages=zeros,
                  recomputation=modes, top_k=4)
    brute, refused = _brute_force("Llama3_8B", FLEET, 64, 4096, zeros, modes)
    assert r.feasible_count == len(brute)
    assert r.configurations == len(brute) + refused
    assert dict(r.failures).get("configurations: memory exceeds a device's usable memory",
                                0) == refused
    got = [(x.tp, x.pp, x.microbatch_size, x.zero_stage, x.recompute) for x in r.top]
    want = [(x.tp, x.pp, x.microbatch_size, x.zero_stage, x.recompute) for x in brute[:4]]
    assert got == want
    assert r.best.step_s == pytest.approx(brute[0].step_s, rel=1e-12)
    assert r.timed_count <= r.feasible_count


def test_refusals_are_counted_by_kind():
    # GPT-2 XL: 25 heads (only tp = 1 divides them among 1, 2, 4, 8), 48 layers
    r = OPT.solve("GPT2", FLEET, batch_size=64, seq_len=1024)
    fails = dict(r.failures)
    # tp ∈ {2, 4, 8} × 10 divisors of 48 layers
    assert fails["(tp, pp) pairs: tp does not divide the heads"] == 3 * 10
    # tp = 1: pp ∈ {3, 6, 12, 24, 48} leave 32 GPUs undivided
    assert fails["(tp, pp) pairs: tp·pp·ep does not divide the devices"] == 5
    assert all(x.tp == 1 for x in r.top)
    assert "Why the rest were refused" in str(r)


def test_nothing_fits():
    r = OPT.solve("Llama3_405B", mlsysim.Systems.DGX_H100, batch_size=8, seq_len=4096)
    assert not r.feasible and r.best is None and r.top == ()
    assert "no configuration" in r.constraint_trace[0]
    assert "INFEASIBLE" in str(r)


def test_two_thousand_configurations_in_a_second():
    start = time.process_time()
    r = OPT.solve("GPT3", "A100_Cluster_1024", batch_size=1536, seq_len=2048,
                  max_configurations=2000)
    elapsed = time.process_time() - start
    assert 1000 <= r.configurations <= 2000
    assert elapsed < 1.0, elapsed
    best = r.best
    assert best.feasible and best.tokens_per_sec is not None
    # the winner is as fast as DistributedModel says for its own layout
    again = DistributedModel().solve(
        "GPT3", "A100_Cluster_1024", batch_size=1536, seq_len=2048, tp_size=best.tp,
        pp_size=best.pp, microbatch_count=best.microbatch_count, zero_stage=best.zero_stage,
        activation_recomputation=best.recompute)
    assert again.step_s == pytest.approx(best.step_s, rel=1e-12)


def test_renders_and_serialises():
    r = OPT.solve("Llama3_8B", FLEET, batch_size=64, seq_len=2048, top_k=3)
    assert len(r.top) == 3 and r.top[0].step_s <= r.top[1].step_s <= r.top[2].step_s
    assert "<table" in r._repr_html_() and "Fastest feasible configurations" in str(r)
    d = r.to_dict()
    assert len(d["top"]) == 3 and d["configurations"] == r.configurations


@pytest.mark.parametrize("kw, name", [
    (dict(zero_stages=(4,)), "zero_stages"),
    (dict(recomputation=("partial",)), "recomputation"),
    (dict(top_k=0), "top_k"),
    (dict(max_configurations=10), "max_configurations"),
    (dict(batch_size=-1), "batch_size"),
    (dict(ep_size=2), "ep_size"),
    (dict(overlap_comm=2), "overlap_comm"),
])
def test_bad_input_is_one_line(kw, name):
    with pytest.raises(ValueError) as e:
        OPT.solve("Llama3_8B", FLEET, **{"batch_size": 64, "seq_len": 2048, **kw})
    assert name in str(e.value) and "\n" not in str(e.value)
