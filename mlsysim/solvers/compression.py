"""Compression by quantisation: what a narrower format saves in memory and gains in time, with
the gains computed by the engine at the real regime (this module adds no latency formula).

``CompressionModel().solve(model, hardware, method="int4")`` solves each phase twice with
:meth:`Engine.solve <mlsysim.solvers.engine.Engine>` — at the baseline precision and compressed
— and reports the engine's bytes, latencies and feasibility side by side:

- ``scope="weights"`` (weight-only: GPTQ, AWQ, LLM.int8()-style W8A16 / W4A16): weights are
  stored in ``method`` and dequantised inside GEMMs that still compute at the baseline
  precision (``Engine.solve(..., weight_precision=method)``). Decode, which streams the
  weights, gains from the fewer bytes less the dequantisation cost the device class measured;
  prefill, bound by arithmetic at an unchanged peak, gains next to nothing. Refused where the
  device class has no measured dequantisation cost for the format (the engine would otherwise
  make it free).
- ``scope="weights+activations"`` (SmoothQuant W8A8, FP8, FP4): the GEMMs compute in ``method``
  (``Engine.solve(..., precision=method)``), so prefill gains wherever the device has a faster
  peak at that format. Refused, with the engine's error, where the device has no such peak
  (fp8 on an A100).

The four steps are ``Engine.solve``'s own — its plans, evaluation and results — with the
arguments validated once and the device rates, step times and step results kept between
solves (:mod:`.step_memo`; ``tests/test_step_memo.py`` checks them against ``Engine.solve``).

Each method has a usual scope (int8 and int4: weights; fp8 and fp4: weights and activations),
used when ``scope`` is not given. The KV cache keeps the baseline precision unless
``kv_precision`` narrows it. Bytes count every parameter — embeddings and LM head included — at
the weight format, as the engine does; quantisers usually keep those two (and the group
scales, about 3 % more at group size 128 for int4) in 16 bits, so real checkpoints are slightly
larger. Published accuracy deltas come from ``catalog/quantization_accuracy.yaml``, only for
the (model, format, scope) rows a source printed.
"""

from __future__ import annotations

from ..catalog.accuracy import QUANT_SCOPES, accuracy_for
from ..results_compression import CompressionResult, PhaseComparison
from ..specs.workload import TransformerWorkload
from ..vocabulary import BYTES_PER_ELEMENT, Phase
from . import inputs
from .inputs import WorkloadArgs
from .step_memo import rates_for, solved


class UnsupportedMethodError(ValueError):
    """A quantisation method the device cannot run (no peak at the format, or no measured
    cost of dequantising it)."""


#: method (the storage format) -> the scope it is usually deployed with
METHODS = {"int8": "weights", "int4": "weights", "fp8": "weights+activations",
           "fp4": "weights+activations"}


def _method_and_scope(method, scope) -> tuple[str, str]:
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}; got "
                         f"{inputs.shown(method)}")
    scope = METHODS[method] if scope is None else scope
    if not isinstance(scope, str) or scope not in QUANT_SCOPES:
        raise ValueError(f"scope must be one of {', '.join(QUANT_SCOPES)}; got "
                         f"{inputs.shown(scope)}")
    return method, scope


def _baseline(hw, baseline) -> str:
    base = hw.compute.default_precision if baseline is None else baseline
    inputs.precision_bytes(base, "baseline")
    inputs.peak_for(hw, base)
    return base


def _check_device(hw, method: str, scope: str, base: str) -> None:
    """Refuse a method the device cannot run, in one line naming what it can."""
    fail = UnsupportedMethodError
    if BYTES_PER_ELEMENT[method] >= BYTES_PER_ELEMENT[base]:
        raise fail(f"method={method!r} is not narrower than the baseline {base!r}; "
                   "compression needs fewer bits per value")
    measured = hw.device_class.dequantization
    computes = hw.si.flops.get(method) is not None
    if scope == "weights+activations":
        if not computes:
            hint = (f"; scope='weights' keeps {base} arithmetic and stores {method} weights"
                    if method in measured else "")
            raise fail(f"method={method!r} with scope='weights+activations' computes in "
                       f"{method}, which {hw.name} cannot: it computes in "
                       f"{', '.join(hw.compute.precision_flops)}{hint}")
        return
    if method not in measured:
        cls = hw.device_class
        hint = (f"; scope='weights+activations' computes in {method} on this device"
                if computes else "")
        raise fail(f"method={method!r} with scope='weights' needs the cost of dequantising "
                   f"{method} weights, and {hw.name}'s device class ({cls.key or cls.name}) "
                   f"has no measurement of it (measured: {', '.join(measured) or 'none'}){hint}")


def _phases(model, phase) -> tuple:
    """Phases to solve: a decoder's decode and prefill (or the one asked for), an encoder's
    prefill, a per-sample network's one inference."""
    if not isinstance(model, TransformerWorkload):
        inputs.phase_for(model, phase)  # the engine's error for a phase on a CNN
        return (None,)
    if phase is None:
        return ("decode", "prefill") if model.si.causal else ("prefill",)
    return (inputs.phase_for(model, phase).value,)


def _contexts(model, seq_len, output_len, phases) -> tuple[int | None, dict]:
    """(prompt, context per phase): the prompt for prefill; for decode the step that emits the
    last of ``output_len`` tokens (prompt + output_len − 1 tokens already cached), else the
    prompt."""
    if not isinstance(model, TransformerWorkload):
        if output_len is not None:
            raise ValueError(f"output_len applies to generating transformers; {model.name} is "
                             "a per-sample network")
        inputs.context_for(model, seq_len)  # the engine's error for seq_len on a CNN
        return None, {None: None}
    prompt = inputs.context_for(model, seq_len)
    extra = 0
    if output_len is not None:
        if "decode" not in phases:
            raise ValueError(f"output_len applies to decode; phase={phases[0]!r} has no "
                             "generated tokens")
        extra = inputs.positive_int("output_len", output_len) - 1
        limit = model.si.max_context
        if limit and prompt + extra + 1 > limit:
            raise ValueError(f"seq_len + output_len = {prompt + extra + 1:,} tokens exceeds "
                             f"{model.name}'s max_context of {limit:,}")
    return prompt, {ph: prompt + extra if ph == "decode" else prompt for ph in phases}


def _kv(model, kv_precision, base: str) -> str | None:
    if kv_precision is None:
        return base if isinstance(model, TransformerWorkload) else None
    if not isinstance(model, TransformerWorkload):
        raise ValueError(f"kv_precision applies to transformers (a KV cache); {model.name} is "
                         "a per-sample network")
    inputs.precision_bytes(kv_precision, "kv_precision")
    if BYTES_PER_ELEMENT[kv_precision] > BYTES_PER_ELEMENT[base]:
        raise ValueError(f"kv_precision={kv_precision!r} is wider than the baseline {base!r}; "
                         "compression never widens the KV cache")
    return kv_precision


class CompressionModel:
    """Quantisation of one model on one device, before and after, as the engine costs it
    (stateless; call ``solve`` with keywords). See the module docstring."""

    def solve(self, model, hardware, method="int8", scope=None, kv_precision=None,
              batch_size=1, seq_len=None, phase=None, output_len=None,
              baseline=None) -> CompressionResult:
        """Bytes, speedups (decode, prefill) and fit of ``model`` quantised with ``method``.

        ``baseline`` is the unquantised precision (the device's default, fp16 on GPUs);
        ``seq_len`` the prompt (default min(2048, max_context)); ``output_len`` sets decode at
        the last generated token; ``phase`` restricts the solve to one phase."""
        m = inputs.resolve_model(model)
        hw = inputs.resolve_hardware(hardware)
        method, scope = _method_and_scope(method, scope)
        base = _baseline(hw, baseline)
        _check_device(hw, method, scope, base)
        kv_after = _kv(m, kv_precision, base)
        kv_before = base if kv_after is not None else None
        phases = _phases(m, phase)
        prompt, contexts = _contexts(m, seq_len, output_len, phases)
        before_p = inputs.precisions(base, kv_precision=kv_before)
        after_p = (inputs.precisions(base, method, kv_after) if scope == "weights"
                   else inputs.precisions(method, kv_precision=kv_after))
        effs = inputs.efficiencies()
        rates = (rates_for(hw, before_p, effs), rates_for(hw, after_p, effs))
        results = []
        for ph in phases:  # Engine.solve's steps, validated once (see step_memo.solved)
            before = inputs.workload_args(m, batch_size, contexts[ph], ph, base,
                                          kv_precision=kv_before)
            after = WorkloadArgs(before.model, before.batch, before.context, before.phase,
                                 after_p)
            results.append(PhaseComparison(ph or Phase.INFERENCE.value,
                                           solved(before, rates[0], hw),
                                           solved(after, rates[1], hw)))
        compute = base if scope == "weights" else method
        return CompressionResult(
            model=m.name, hardware=hw.name, method=method, scope=scope, baseline=base,
            compressed=results[0].after.precision, peak_before=inputs.peak_for(hw, base),
            peak_after=inputs.peak_for(hw, compute), phases=tuple(results),
            capacity_bytes=hw.si.mem_capacity, batch_size=results[0].before.batch_size,
            prompt_len=prompt, output_len=output_len,
            accuracy=accuracy_for(m.key, method, scope),
            notes=_notes(hw, method, scope, base))

    def compare(self, model, hardware, methods=("int8", "fp8", "int4"), **kwargs):
        """A table (``render.TableData``) of each method's bytes, speedups and fit; a method
        the device cannot run gets a row saying why. ``methods`` items are a method name or
        a (method, scope) pair; other keywords go to :meth:`solve`."""
        return compare(model, hardware, methods, **kwargs)


def _notes(hw, method: str, scope: str, base: str) -> tuple[str, ...]:
    if scope == "weights":
        factor = hw.device_class.dequantization[method]
        return (f"Weight-only: GEMMs still compute in {base}; {method} weights stream at "
                f"{factor:.0%} of the achievable bandwidth (the device class's measured "
                "dequantisation cost).",)
    return (f"Weights and activations in {method}: GEMMs run at the device's {method} peak.",)


def compare(model, hardware, methods=("int8", "fp8", "int4"), **kwargs):
    """See :meth:`CompressionModel.compare`."""
    from ..render import TableData

    rows, highlight = [], set()
    solver = CompressionModel()
    for item in methods:
        method, scope = (item, None) if isinstance(item, str) or item is None else item
        try:
            r = solver.solve(model, hardware, method=method, scope=scope, **kwargs)
        except UnsupportedMethodError as exc:
            highlight.add(len(rows))
            rows.append((method, scope or METHODS[method], "—", "—", "—", "—", "—",
                         f"not run: {exc}"))
            continue
        speed = [f"{s:.2f}×" if s is not None else "—"
                 for s in (r.decode_speedup or r.inference_speedup, r.prefill_speedup)]
        rows.append((method, r.scope, r.weight_bytes_after, r.memory_saved, *speed,
                     "yes" if r.fits_after else "no", r.accuracy_brief))
    m = inputs.resolve_model(model)
    first = "Decode speedup" if isinstance(m, TransformerWorkload) else "Inference speedup"
    return TableData(("Method", "Scope", "Weights", "Memory saved", first, "Prefill speedup",
                      "Fits", "Note"), tuple(rows),
                     caption=f"Quantisation of {m.name} on "
                             f"{inputs.resolve_hardware(hardware).name}",
                     highlight=frozenset(highlight))
