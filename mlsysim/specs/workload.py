"""Workload specs: transformers (language and encoder models) and per-sample networks
(CNNs, ViT, keyword spotting, DLRM) that run one fixed-cost forward pass per input.

Counting convention (DESIGN.md §4): 1 MAC = 2 FLOP. Papers often print MACs under the name
"FLOPs"; the catalog records which one it read, and ``flops_per_sample`` is always FLOPs.
"""

from __future__ import annotations

from functools import cached_property
from typing import ClassVar, Literal, NamedTuple

from pydantic import Field, model_validator

from .base import Int, OptionalInt, Sourced, Spec
from .quantity import Bytes, Flops, Params

Category = Literal["language", "vision", "tiny", "recommendation"]


class MoESpec(Spec):
    """Mixture of experts: FLOPs follow the active parameters, bytes follow all of them."""

    experts: Int = Field(gt=1)
    active_experts: Int = Field(gt=0)
    active_parameters: Params

    @model_validator(mode="after")
    def _active_le_total(self):
        if self.active_experts > self.experts:
            raise ValueError(
                f"active_experts ({self.active_experts}) exceeds experts ({self.experts})"
            )
        return self


class WorkloadSpec(Sourced):
    """Fields common to every workload."""

    name: str
    key: str | None = None
    category: Category
    year: OptionalInt = Field(default=None, ge=1980, le=2035)
    description: str | None = None
    aliases: tuple[str, ...] = ()
    parameters: Params
    layers: Int = Field(gt=0)

    @cached_property
    def parameter_count(self) -> float:
        """Parameters as a plain float."""
        return float(self.parameters.to("param").magnitude)

    def __str__(self) -> str:
        return self.name


class TransformerWorkload(WorkloadSpec):
    """A transformer; ``kv_heads`` < ``heads`` means GQA (1 = MQA).

    ``mlp: gated`` is a SwiGLU/GeGLU feed-forward (three matrices of d × ffn_dim: gate, up,
    down, as in Llama and Mixtral); ``plain`` has two (GPT, BERT). ``tied_embeddings`` means the
    output head reuses the input embedding matrix (GPT-2); it is still read once per step."""

    kind: Literal["transformer"] = "transformer"
    architecture: Literal["decoder", "encoder", "encoder-decoder"] = "decoder"
    hidden_dim: Int = Field(gt=0)
    heads: Int = Field(gt=0)
    kv_heads: OptionalInt = Field(default=None, gt=0)
    ffn_dim: OptionalInt = Field(default=None, gt=0)
    mlp: Literal["gated", "plain"] = "plain"
    tied_embeddings: bool = False
    vocab_size: OptionalInt = Field(default=None, gt=0)
    max_context: OptionalInt = Field(default=None, gt=0)
    moe: MoESpec | None = None

    @model_validator(mode="after")
    def _heads_consistent(self):
        kv = self.kv_heads if self.kv_heads is not None else self.heads
        if kv > self.heads or self.heads % kv:
            raise ValueError(f"kv_heads ({kv}) must divide heads ({self.heads})")
        if self.hidden_dim % self.heads:
            raise ValueError(f"hidden_dim ({self.hidden_dim}) must be divisible by heads "
                             f"({self.heads})")
        if self.moe is not None and self.moe.active_parameters > self.parameters:
            raise ValueError(f"moe.active_parameters ({self.moe.active_parameters:~P}) exceeds "
                             f"parameters ({self.parameters:~P}): the active set is part of "
                             "the whole model")
        return self

    #: fields whose change changes the parameter count the shapes imply
    SHAPE_FIELDS: ClassVar[tuple[str, ...]] = (
        "layers", "hidden_dim", "heads", "kv_heads", "ffn_dim", "mlp", "tied_embeddings",
        "vocab_size", "moe")

    def replace(self, changes: dict | None = None, **fields):
        """As :meth:`Spec.replace`; a changed shape (e.g. ``kv_heads``) without a new
        ``parameters`` rescales the declared count by the shapes' own ratio, so the weights
        the engine stores and the GEMMs it runs stay the same model (MoE active parameters
        scale alike)."""
        changed = {**(changes or {}), **fields}
        new = super().replace(changed)
        roots = {path.split(".")[0] for path in changed}
        if not roots & set(self.SHAPE_FIELDS) or "parameters" in roots:
            return new
        ratio = new.shape_parameters / self.shape_parameters
        rescaled = {"parameters": f"{self.parameter_count * ratio!r} param"}
        if new.moe is not None and "moe" not in roots:
            active = float(new.moe.active_parameters.to("param").magnitude)
            rescaled["moe.active_parameters"] = f"{active * ratio!r} param"
        return super(TransformerWorkload, new).replace(rescaled)

    @property
    def n_kv_heads(self) -> int:
        return self.kv_heads if self.kv_heads is not None else self.heads

    @property
    def head_dim(self) -> int:
        return self.hidden_dim // self.heads

    @cached_property
    def active_parameters(self):
        """Parameters touched per token (all of them unless MoE)."""
        return self.moe.active_parameters if self.moe else self.parameters

    @cached_property
    def si(self) -> TransformerSI:
        """Plain floats and ints for the solvers (computed once)."""
        return TransformerSI(
            params=self.parameter_count,
            active_params=float(self.active_parameters.to("param").magnitude),
            layers=self.layers, d_model=self.hidden_dim, heads=self.heads,
            kv_heads=self.n_kv_heads, head_dim=self.head_dim,
            ffn_dim=self.ffn_dim or 4 * self.hidden_dim,
            causal=self.architecture != "encoder", max_context=self.max_context,
            gated=self.mlp == "gated", vocab=self.vocab_size or 0,
            experts=self.moe.experts if self.moe else 1,
            active_experts=self.moe.active_experts if self.moe else 1,
            tied=self.tied_embeddings,
        )

    @cached_property
    def shapes(self) -> TransformerShapes:
        """Parameter counts of each weight matrix, from the architecture (not the catalog's
        headline count): per layer, and for the embedding and output head."""
        s = self.si
        d, kv = s.d_model, s.kv_heads * s.head_dim
        mats = 3 if s.gated else 2
        embed = float(s.vocab * d)
        return TransformerShapes(
            qkv=float(d * (d + 2 * kv)), out=float(d * d),
            mlp_in=float((mats - 1) * d * s.ffn_dim), mlp_out=float(s.ffn_dim * d),
            router=float(d * s.experts) if s.experts > 1 else 0.0, norms=2.0 * d,
            embedding=embed, head=embed if s.causal else 0.0)

    @property
    def shape_parameters(self) -> float:
        """Total parameters implied by the shapes (tied embeddings counted once)."""
        sh, s = self.shapes, self.si
        layer = sh.qkv + sh.out + s.experts * (sh.mlp_in + sh.mlp_out) + sh.router + sh.norms
        head = 0.0 if s.tied else sh.head
        return s.layers * layer + sh.embedding + head


class SampleWorkload(WorkloadSpec):
    """A network run once per input sample at a fixed cost (CNN, ViT, KWS, DLRM).

    Give ``macs_per_sample`` or ``flops_per_sample`` (or both, consistent): FLOPs = 2 × MACs.
    ``activation_bytes_per_sample`` is the total size of every layer's output for one sample
    at fp16 (each is written once and read once: the activation traffic, and what training
    stores for the backward pass); ``peak_activation_bytes_per_sample`` is the largest set live
    at once during inference (defaults to the total: conservative). ``bytes_per_sample`` is extra
    traffic per sample that does not scale with weights (DLRM embedding-table lookups), and
    ``embedding_parameters`` are parameters that are only looked up (a few rows per sample, in
    ``bytes_per_sample``), never streamed whole: they count toward memory capacity, not traffic.
    """

    kind: Literal["per_sample"] = "per_sample"
    architecture: str
    input_shape: str | None = None
    flops_per_sample: Flops | None = None
    macs_per_sample: Flops | None = None
    activation_bytes_per_sample: Bytes | None = None
    peak_activation_bytes_per_sample: Bytes | None = None
    bytes_per_sample: Bytes | None = None
    embedding_parameters: Params | None = None

    @model_validator(mode="after")
    def _flops_from_macs(self):
        macs, flops = self.macs_per_sample, self.flops_per_sample
        if self.embedding_parameters is not None and self.embedding_parameters > self.parameters:
            raise ValueError("embedding_parameters exceeds parameters")
        total, peak = self.activation_bytes_per_sample, self.peak_activation_bytes_per_sample
        if total is not None and peak is not None and peak > total:
            raise ValueError(f"peak_activation_bytes_per_sample ({peak:~P}) exceeds "
                             f"activation_bytes_per_sample ({total:~P}): the live set is part "
                             "of the total")
        if macs is None and flops is None:
            raise ValueError("give flops_per_sample or macs_per_sample")
        if flops is None:
            object.__setattr__(self, "flops_per_sample", 2 * macs)
        elif macs is not None:
            ratio = float((flops / (2 * macs)).to("").magnitude)
            if abs(ratio - 1) > 0.05:
                raise ValueError(
                    f"flops_per_sample ({flops}) should be 2 × macs_per_sample ({macs}); "
                    f"ratio is {2 * ratio:.2f}"
                )
        return self


    @cached_property
    def si(self) -> SampleSI:
        """Plain floats for the solvers (computed once)."""
        def bytes_of(q):
            return float(q.to("B").magnitude) if q is not None else 0.0

        total = bytes_of(self.activation_bytes_per_sample)
        peak = bytes_of(self.peak_activation_bytes_per_sample) or total
        embedding = self.embedding_parameters
        streamed = self.parameter_count - (
            float(embedding.to("param").magnitude) if embedding is not None else 0.0)
        return SampleSI(
            params=self.parameter_count, streamed_params=streamed, layers=self.layers,
            flops_per_sample=float(self.flops_per_sample.to("flop").magnitude),
            activation_bytes_fp16=total, peak_activation_bytes_fp16=peak,
            bytes_per_sample=bytes_of(self.bytes_per_sample),
        )


class TransformerSI(NamedTuple):
    """Float view of a TransformerWorkload (parameters as counts)."""

    params: float
    active_params: float
    layers: int
    d_model: int
    heads: int
    kv_heads: int
    head_dim: int
    ffn_dim: int
    causal: bool
    max_context: int | None
    gated: bool = False
    vocab: int = 0
    experts: int = 1
    active_experts: int = 1
    tied: bool = False


class TransformerShapes(NamedTuple):
    """Parameters per weight matrix (per expert for the MLP of an MoE layer)."""

    qkv: float  # d × (d + 2·h_kv·d_h)
    out: float  # d × d
    mlp_in: float  # gate + up (gated) or up (plain): d × ffn per matrix
    mlp_out: float  # ffn × d
    router: float  # d × experts (MoE only)
    norms: float  # two norm scales per layer
    embedding: float  # vocab × d (gathered, never streamed whole)
    head: float  # vocab × d output projection (decoders)


class SampleSI(NamedTuple):
    """Float view of a SampleWorkload (FLOPs and bytes per sample)."""

    params: float
    streamed_params: float  # read in full every step (all but embedding tables)
    layers: int
    flops_per_sample: float
    activation_bytes_fp16: float
    peak_activation_bytes_fp16: float
    bytes_per_sample: float


Workload = TransformerWorkload | SampleWorkload
