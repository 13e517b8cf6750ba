"""Bad input across the serving solvers and their CLI commands: each fails with one line that
names the parameter and what is allowed (ValueError / TypeError / the package's own errors),
never a deep traceback, a hang, inf or NaN; a rate at or beyond capacity is an honest
unstable result with its utilisation, not an exception."""

from __future__ import annotations

import math
import subprocess
import sys
import time

import pytest

from mlsysim import (
    BatchingOptimizer,
    CompressionModel,
    ContinuousBatchingModel,
    ServingModel,
    TailLatencyModel,
)
from mlsysim.cli import main
from mlsysim.errors import UnknownNameError
from mlsysim.solvers.queueing import simulate_queue

NAN, INF = float("nan"), float("inf")
SM, CB, TL = ServingModel(), ContinuousBatchingModel(), TailLatencyModel()
BO, CM = BatchingOptimizer(), CompressionModel()
L8, H100, CNN = "Llama3_8B", "H100", "ResNet50"
SLO = {"p99_ttft_slo_ms": 500}


def serve(**kw):
    return SM.solve(L8, H100, **{"seq_len": 512, **kw})


def cb(**kw):
    return CB.solve(L8, H100, **{"concurrency": 4, "prompt_len": 100, "output_len": 100,
                                 **kw})


def opt(**kw):
    args = {"seq_len": 512, "output_len": 128, "arrival_rate_qps": 10, **SLO, **kw}
    return BO.solve(L8, H100, **args)


# (id, call, words the message must contain)
CASES = [
    # arrival rates
    ("tail rate negative", lambda: TL.solve(-1, 50), ["arrival_rate_qps", "non-negative"]),
    ("tail rate nan", lambda: TL.solve(NAN, 50), ["arrival_rate_qps", "finite"]),
    ("tail rate inf", lambda: TL.solve(INF, 50), ["arrival_rate_qps", "finite"]),
    ("tail rate in seconds", lambda: TL.solve("5 s", 50), ["arrival_rate_qps", "1/s"]),
    ("slo rate nan", lambda: TL.replicas_for_slo(NAN, 50, 300), ["arrival_rate_qps"]),
    ("slo rate beyond any replicas", lambda: TL.replicas_for_slo(1e12, 50, 300),
     ["arrival_rate_qps", "1,000,000 replicas"]),
    ("simulate rate zero", lambda: simulate_queue(0, 50), ["arrival_rate_qps", "positive"]),
    ("simulate rate negative", lambda: simulate_queue(-3, 50), ["arrival_rate_qps"]),
    ("simulate rate beyond capacity", lambda: simulate_queue(40, 50),
     ["arrival_rate_qps", "ρ = 2", "unstable"]),
    ("optimizer rate zero", lambda: opt(arrival_rate_qps=0), ["arrival_rate_qps", "positive"]),
    ("optimizer rate negative", lambda: opt(arrival_rate_qps=-5), ["arrival_rate_qps"]),
    ("optimizer rate nan", lambda: opt(arrival_rate_qps=NAN), ["arrival_rate_qps", "finite"]),
    ("optimizer rate inf", lambda: opt(arrival_rate_qps=INF), ["arrival_rate_qps", "finite"]),
    ("optimizer rate a bandwidth", lambda: opt(arrival_rate_qps="10 GB/s"),
     ["arrival_rate_qps", "1/s"]),
    # service times and SLOs
    ("tail service zero", lambda: TL.solve(10, 0), ["service_latency_ms", "positive"]),
    ("tail service nan", lambda: TL.solve(10, NAN), ["service_latency_ms"]),
    ("tail service a bandwidth", lambda: TL.solve(10, "5 GB/s"),
     ["service_latency_ms", "expected s"]),
    ("slo target zero", lambda: TL.replicas_for_slo(10, 50, 0), ["p99_slo_ms", "positive"]),
    ("slo target inf", lambda: TL.replicas_for_slo(10, 50, INF), ["p99_slo_ms", "finite"]),
    ("optimizer SLO nan", lambda: opt(p99_ttft_slo_ms=NAN), ["p99_ttft_slo_ms"]),
    ("optimizer SLO in bytes", lambda: opt(p99_ttft_slo_ms="5 GB"), ["p99_ttft_slo_ms"]),
    ("optimizer no SLO", lambda: opt(p99_ttft_slo_ms=None), ["p99_ttft_slo_ms", "itl_slo_ms"]),
    ("optimizer price in seconds", lambda: opt(price_per_hour="5 s"), ["price_per_hour"]),
    ("optimizer price negative", lambda: opt(price_per_hour=-2), ["price_per_hour"]),
    # acceptance rate
    ("acceptance above one", lambda: serve(draft_model=L8, draft_acceptance_rate=1.5),
     ["draft_acceptance_rate", "[0, 1]"]),
    ("acceptance negative", lambda: serve(draft_model=L8, draft_acceptance_rate=-0.1),
     ["draft_acceptance_rate", "[0, 1]"]),
    ("acceptance nan", lambda: serve(draft_model=L8, draft_acceptance_rate=NAN),
     ["draft_acceptance_rate"]),
    ("acceptance without a draft", lambda: serve(draft_acceptance_rate=2),
     ["draft_acceptance_rate", "[0, 1]"]),
    ("draft length zero", lambda: serve(draft_model=L8, draft_len=0), ["draft_len"]),
    # batch sizes and counts
    ("serving batch zero", lambda: serve(batch_size=0), ["batch_size", "positive integer"]),
    ("serving batch negative", lambda: serve(batch_size=-4), ["batch_size"]),
    ("serving batch fractional", lambda: serve(batch_size=2.5), ["batch_size", "integer"]),
    ("serving batch nan", lambda: serve(batch_size=NAN), ["batch_size"]),
    ("serving prefix negative", lambda: serve(cached_prefix_len=-1),
     ["cached_prefix_len", "≥ 0"]),
    ("compression batch zero", lambda: CM.solve(L8, H100, batch_size=0), ["batch_size"]),
    ("compression batch fractional", lambda: CM.solve(L8, H100, batch_size=1.5),
     ["batch_size"]),
    ("optimizer max batch zero", lambda: opt(max_batch_size=0), ["max_batch_size"]),
    ("optimizer max replicas zero", lambda: opt(max_replicas=0), ["max_replicas"]),
    ("evaluate batch zero",
     lambda: BO.evaluate(L8, H100, 512, 128, 10, 0, 1, **SLO), ["batch_size"]),
    ("evaluate batch fractional",
     lambda: BO.evaluate(L8, H100, 512, 128, 10, 2.5, 1, **SLO), ["batch_size"]),
    ("evaluate replicas zero",
     lambda: BO.evaluate(L8, H100, 512, 128, 10, 8, 0, **SLO), ["replicas"]),
    ("tail replicas zero", lambda: TL.solve(10, 50, 0), ["num_replicas"]),
    ("tail replicas fractional", lambda: TL.solve(10, 50, 1.5), ["num_replicas"]),
    ("tail cv nan", lambda: TL.solve(10, 50, 1, NAN), ["service_time_cv", "[0, 10]"]),
    ("cb concurrency zero", lambda: cb(concurrency=0), ["concurrency"]),
    ("cb concurrency fractional", lambda: cb(concurrency=2.5), ["concurrency"]),
    ("cb block size zero", lambda: cb(block_size=0), ["block_size", "positive integer"]),
    ("cb block size negative", lambda: cb(block_size=-16), ["block_size"]),
    ("cb block size float", lambda: cb(block_size=16.0), ["block_size"]),
    ("cb chunk size zero", lambda: cb(chunk_size=0), ["chunk_size"]),
    ("cb prompt nan", lambda: cb(prompt_len=NAN), ["prompt_len"]),
    ("cb requests ragged", lambda: cb(prompt_len=None, output_len=None,
                                      requests=[(1, 2), (3,)]), ["requests"]),
    ("cb requests true/false", lambda: cb(prompt_len=None, output_len=None,
                                          requests=[(True, 5)]), ["requests"]),
    ("cb requests negative", lambda: cb(prompt_len=None, output_len=None,
                                        requests=[(-10, 100)]), ["requests", "≥ 1"]),
    ("cb sweep concurrency zero", lambda: CB.sweep(L8, H100, [0], 100, 100),
     ["concurrencies"]),
    # a CNN given to a transformer-only solver
    ("serving a CNN", lambda: SM.solve(CNN, H100, 512), ["ResNet-50", "decoder"]),
    ("cb a CNN", lambda: CB.solve(CNN, H100, 4, 100, 100), ["model", "decoder"]),
    ("optimizer a CNN", lambda: BO.solve(CNN, H100, 512, 128, 10, **SLO), ["decoder"]),
    ("serving a CNN draft", lambda: serve(draft_model=CNN), ["ResNet-50", "decoder"]),
    ("compression a CNN with output_len", lambda: CM.solve(CNN, H100, output_len=5),
     ["output_len", "per-sample"]),
    # wrong units
    ("bandwidth in seconds", lambda: serve(decode_hardware="A100", network_bandwidth="5 s"),
     ["network_bandwidth", "B/s"]),
    ("bandwidth a bare number", lambda: serve(decode_hardware="A100", network_bandwidth=50),
     ["network_bandwidth", "B/s", "GB/s"]),
    ("bandwidth nan", lambda: serve(decode_hardware="A100", network_bandwidth=NAN),
     ["network_bandwidth"]),
    ("bandwidth infinite", lambda: serve(decode_hardware="A100", network_bandwidth="inf GB/s"),
     ["network_bandwidth", "finite"]),
    # unknown names
    ("serving unknown model", lambda: SM.solve("Llama3_8", H100, 512),
     ["Llama3_8", "did you mean", "Llama3_8B"]),
    ("serving unknown hardware", lambda: SM.solve(L8, "H10", 512), ["did you mean", "H100"]),
    ("cb unknown hardware", lambda: CB.solve(L8, "H1000", 4, 100, 100), ["did you mean"]),
    ("optimizer unknown model", lambda: BO.solve("Lama3_8B", H100, 512, 128, 10, **SLO),
     ["did you mean", "Llama3_8B"]),
    ("compression unknown hardware", lambda: CM.solve(L8, "H1O0"), ["did you mean", "H100"]),
    ("compression unknown method", lambda: CM.solve(L8, H100, method="int3"),
     ["method", "int8"]),
    ("serving a model of the wrong type", lambda: SM.solve(3, H100, 512), ["model"]),
]


@pytest.mark.parametrize("call, words", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_fails_in_one_line_naming_the_parameter(call, words):
    t = time.perf_counter()
    with pytest.raises((ValueError, TypeError)) as info:
        call()
    assert time.perf_counter() - t < 10, "took too long to refuse"
    message = str(info.value)
    assert "\n" not in message and 0 < len(message) < 400
    for word in words:
        assert word in message, (word, message)


def test_unknown_names_are_the_packages_own_error():
    with pytest.raises(UnknownNameError):
        SM.solve("Llama3_8", H100, 512)


# -- at or beyond capacity: an honest unstable result ---------------------------------------
@pytest.mark.parametrize("lam, shown", [(20.0, "ρ = 1.00"), (40.0, "ρ = 2.00"),
                                        (1e6, "ρ = 50,000")])
def test_a_rate_at_or_beyond_capacity_is_unstable_with_its_utilisation(lam, shown):
    r = TL.solve(lam, 50)  # 1 replica of 50 ms serves 20 qps
    assert not r.is_stable and not r.feasible
    assert r.queue_utilization == pytest.approx(lam / 20.0)
    text = str(r)
    assert "unstable" in text and shown in text
    assert "nan" not in text.lower() and "inf " not in text
    d = r.to_dict()
    assert all(not (isinstance(v, float) and not math.isfinite(v)) for v in d.values())


def test_an_offered_rate_beyond_the_replicas_is_shown_with_its_load():
    r = BO.evaluate(L8, H100, 512, 128, 1000, 8, 1, itl_slo_ms=500)
    assert not r.feasible
    rho = 1000 * r.service_s / 8  # λ·S/(R·B), one replica
    assert rho > 1 and r.offered_utilization == pytest.approx(rho, rel=1e-12)
    assert r.goodput_qps == pytest.approx(8 / r.service_s)  # the replica's capacity, admitted
    assert "cannot keep up" in str(r)


@pytest.mark.parametrize("lam, slos", [(1e9, {"p99_ttft_slo_ms": 500}),
                                       (1e8, {"p99_e2e_slo_ms": 1e6})])
def test_a_rate_beyond_any_replica_count_answers_quickly(lam, slos):
    """It searched replica counts of billions (Erlang C over each) before: a hang."""
    t = time.perf_counter()
    r = BO.solve(L8, H100, 512, 128, lam, **slos)
    assert time.perf_counter() - t < 5
    assert not r.feasible and r.binding == "max_replicas"
    assert "needs more than 1,000,000 replicas" in r.constraint_trace[0]


# -- the CLI -------------------------------------------------------------------------------
CLI_CASES = [
    (["serve", CNN, H100, "--seq-len", "100"], ["decoder"]),
    (["serve", "Llama3_8", H100, "--seq-len", "100"], ["did you mean", "Llama3_8B"]),
    (["serve", L8, "H10", "--seq-len", "100"], ["did you mean", "H100"]),
    (["serve", L8, H100, "--seq-len", "100", "--batch-size", "0"], ["--batch-size"]),
    (["serve", L8, H100, "--seq-len", "100", "--batch-size", "2.5"], ["--batch-size"]),
    (["serve", L8, H100, "--seq-len", "nan"], ["--seq-len"]),
    (["serve", L8, H100, "--seq-len", "100", "--acceptance", "1.5"], ["--acceptance", "[0, 1]"]),
    (["serve", L8, H100, "--seq-len", "100", "--acceptance", "nan"], ["--acceptance"]),
    (["serve", L8, H100, "--seq-len", "100", "--cached-prefix", "-1"], ["--cached-prefix"]),
    (["serve", L8, H100, "--seq-len", "100", "--decode-hardware", "A100",
      "--network-bandwidth", "5 s"], ["network_bandwidth", "B/s"]),
    (["serve", L8, H100, "--seq-len", "100", "--precision", "fp64"], ["--precision"]),
    (["slo", "--rate", "-1", "--service-ms", "50"], ["--rate"]),
    (["slo", "--rate", "nan", "--service-ms", "50"], ["--rate", "finite"]),
    (["slo", "--rate", "inf", "--service-ms", "50"], ["--rate", "finite"]),
    (["slo", "--rate", "5 s", "--service-ms", "50"], ["--rate", "1/s"]),
    (["slo", "--rate", "10", "--service-ms", "5 GB/s"], ["--service-ms"]),
    (["slo", "--rate", "10", "--service-ms", "0"], ["--service-ms"]),
    (["slo", "--rate", "10", "--service-ms", "50", "--replicas", "0"], ["--replicas"]),
    (["slo", "--rate", "10", "--service-ms", "50", "--cv", "nan"], ["--cv"]),
    (["slo", "--rate", "10", "--service-ms", "50", "--p99-slo", "nan"], ["--p99-slo"]),
    (["slo", "--rate", "1e12", "--service-ms", "50", "--p99-slo", "300"],
     ["--rate", "replicas"]),
]


@pytest.mark.parametrize("argv, words", CLI_CASES, ids=[" ".join(c[0]) for c in CLI_CASES])
def test_cli_bad_input_exits_nonzero_with_one_line(argv, words, capsys):
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own refusals
        code = exc.code
    err = capsys.readouterr().err.strip()
    assert code != 0
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    for word in words:
        assert word in err, (word, err)


def test_cli_acceptance_zero_is_allowed(capsys):
    """α = 0 (every drafted token rejected) is a valid acceptance rate."""
    assert main(["serve", L8, H100, "--seq-len", "100", "--draft-model", L8,
                 "--acceptance", "0"]) == 0


def test_cli_unstable_queue_is_a_result_not_an_error(capsys):
    assert main(["slo", "--rate", "40", "--service-ms", "50"]) == 0
    out = capsys.readouterr().out
    assert "unstable" in out and "ρ = 2.00" in out and "nan" not in out.lower()


def test_cli_in_a_subprocess_prints_no_traceback():
    proc = subprocess.run([sys.executable, "-m", "mlsysim.cli", "slo", "--rate", "nan",
                           "--service-ms", "50"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "mlsysim: error: --rate must be a finite number, got nan"]
