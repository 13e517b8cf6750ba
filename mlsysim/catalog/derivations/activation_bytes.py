"""Activation memory of the catalog's per-sample models, derived from their layer tables.

Run ``python mlsysim/catalog/derivations/activation_bytes.py`` to print the table (add
``--ops MODEL`` to list every counted tensor of one model). Plain Python, no framework: each
network is written out as the ordered list of operations of its published architecture, and
the script sums the elements of the tensors they write.

Sources of the layer lists
    ResNet-50       He et al. 2016, Table 1, with torchvision's v1.5 stride placement (the
                    stride-2 sits on the 3x3 conv of the first bottleneck of a stage, not on
                    its first 1x1 conv); v1 is printed as well for comparison.
    MobileNetV2     Sandler et al. 2018, Table 2 (width 1.0, 224x224).
    EfficientNet-B0 Tan & Le 2019, Table 1, MBConv with squeeze-and-excitation (ratio 0.25 of
                    the block's input channels).
    ViT-B/16        Dosovitskiy et al. 2021, Table 1: 196 patches + class token = 197 tokens of
                    768, 12 layers, 12 heads, MLP 3072.
    DS-CNN          MLPerf Tiny keyword_spotting/keras_model.py (49x10x1 MFCC input).
    MobileNetV1     MLPerf Tiny visual_wake_words/vww_model.py (alpha 0.25, 96x96x3, 2 classes).
    DLRM            facebookresearch/dlrm MLPerf configuration: bottom MLP 13-512-256-128,
                    26 embeddings of 128, dot interaction, top MLP 479-1024-1024-512-256-1.

Counting rules
    * Every convolution, fully connected layer (or matmul), pooling, residual add,
      element-wise multiply (squeeze-and-excitation scaling), concatenation, layer norm and
      embedding lookup writes one new output tensor; its elements are counted once.
    * BatchNorm and the activation function (ReLU, ReLU6, SiLU/swish, GELU, sigmoid, softmax)
      are fused into the operation before them and write nothing of their own; the attention
      softmax is applied to the 12x197x197 score tensor in place. Dropout is the identity at
      inference; flatten, reshape and taking the class token are views.
    * The network input (image, MFCCs, dense features) is not a layer output and is not in
      the total; it is in the peak while the first layer reads it.
    * Total = sum of all layer-output elements x 2 bytes (fp16): each is written once and read
      by the next layer(s), and training keeps them for the backward pass.
    * Peak = the largest set of tensors alive at once during inference, fp16. The operations run
      in the listed order; a tensor is alive from the operation that writes it until the last
      operation that reads it, so while an operation runs its inputs, its output and every
      tensor kept for later (a residual block's skip tensor, the MobileNet/EfficientNet block
      input, ViT's residual stream) count. Nothing is computed in place (a residual add writes a
      new tensor) and no memory planner reuses an input's buffer for the output: an upper
      bound on what a runtime with an arena allocator needs. For a plain chain this is
      max over layers of (input + output).
    * MACs: convolutions H_out x W_out x C_out x (C_in / groups) x k_h x k_w, matmuls
      M x N x K; pooling, adds, multiplies and norms count none.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass, field
from pathlib import Path

BYTES_PER_ELEMENT = 2  # fp16


@dataclass(eq=False)
class Tensor:
    shape: tuple[int, ...]
    name: str

    @property
    def elements(self) -> int:
        return math.prod(self.shape)


@dataclass
class Op:
    name: str
    kind: str
    inputs: list[Tensor]
    output: Tensor
    macs: int
    params: int = 0  # weights this op reads (embedding rows: those looked up)
    rows: int = 0  # GEMM rows per sample: output pixels of a conv, tokens of a linear


@dataclass
class Net:
    """An ordered list of operations; conv tensors are (C, H, W), others as given."""

    name: str
    input_shape: tuple[int, ...]
    ops: list[Op] = field(default_factory=list)

    def __post_init__(self):
        self.input = Tensor(self.input_shape, "input")

    # ---- operations -------------------------------------------------------------------
    def op(self, kind, name, inputs, shape, macs=0, params=0, rows=0) -> Tensor:
        out = Tensor(tuple(shape), name)
        self.ops.append(Op(name, kind, list(inputs), out, macs, params, rows))
        return out

    def conv(self, x, c_out, k, stride=1, groups=1, name="conv") -> Tensor:
        """'Same' padding: H_out = ceil(H / stride) (true of every conv in these models)."""
        kh, kw = (k, k) if isinstance(k, int) else k
        sh, sw = (stride, stride) if isinstance(stride, int) else stride
        c_in, h, w = x.shape
        ho, wo = -(-h // sh), -(-w // sw)
        macs = ho * wo * c_out * (c_in // groups) * kh * kw
        params = c_out * (c_in // groups) * kh * kw
        return self.op("conv", name, [x], (c_out, ho, wo), macs, params, ho * wo)

    def dwconv(self, x, k, stride=1, name="dwconv") -> Tensor:
        return self.conv(x, x.shape[0], k, stride, groups=x.shape[0], name=name)

    def maxpool(self, x, stride, name="maxpool") -> Tensor:
        c, h, w = x.shape
        return self.op("pool", name, [x], (c, -(-h // stride), -(-w // stride)))

    def global_pool(self, x, name="avgpool") -> Tensor:
        return self.op("pool", name, [x], (x.shape[0],))

    def linear(self, x, n_out, name="fc") -> Tensor:
        *rows, n_in = x.shape
        return self.op("linear", name, [x], (*rows, n_out), math.prod(rows) * n_in * n_out,
                       n_in * n_out, math.prod(rows))

    def add(self, a, b, name="add") -> Tensor:
        return self.op("add", name, [a, b], a.shape)

    def mul(self, a, gate, name="mul") -> Tensor:
        return self.op("mul", name, [a, gate], a.shape)

    def layernorm(self, x, name="ln") -> Tensor:
        return self.op("norm", name, [x], x.shape)

    # ---- accounting -------------------------------------------------------------------
    @property
    def macs(self) -> int:
        return sum(op.macs for op in self.ops)

    @property
    def total_elements(self) -> int:
        return sum(op.output.elements for op in self.ops)

    def peak(self) -> tuple[int, str]:
        """Largest sum of live tensor elements over the operations, and where it occurs."""
        born = {id(self.input): -1}
        last = {}
        tensors = {id(self.input): self.input}
        for i, op in enumerate(self.ops):
            born[id(op.output)] = i
            tensors[id(op.output)] = op.output
            for t in op.inputs:
                last[id(t)] = i
        end = len(self.ops) - 1
        best, where = 0, ""
        for i, op in enumerate(self.ops):
            live = sum(t.elements for key, t in tensors.items()
                       if born[key] <= i <= last.get(key, end))
            if live > best:
                best, where = live, op.name
        return best, where


# ---- the networks ---------------------------------------------------------------------------

def resnet50(v15: bool = True) -> Net:
    """He et al. Table 1: conv1 7x7/2, maxpool 3x3/2, bottlenecks [3, 4, 6, 3], avgpool, fc."""
    n = Net("ResNet-50" + (" v1.5" if v15 else " v1"), (3, 224, 224))
    x = n.conv(n.input, 64, 7, 2, name="conv1")
    x = n.maxpool(x, 2)
    for stage, (width, blocks, stride) in enumerate(
            [(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)], start=1):
        for b in range(blocks):
            s = stride if b == 0 else 1
            s1, s2 = (1, s) if v15 else (s, 1)
            p = f"layer{stage}.{b}"
            y = n.conv(x, width, 1, s1, name=p + ".conv1")
            y = n.conv(y, width, 3, s2, name=p + ".conv2")
            y = n.conv(y, 4 * width, 1, name=p + ".conv3")
            skip = n.conv(x, 4 * width, 1, s, name=p + ".downsample") if b == 0 else x
            x = n.add(y, skip, name=p + ".add")
    x = n.global_pool(x)
    n.linear(x, 1000)
    return n


def mobilenet_v2() -> Net:
    """Sandler et al. Table 2: rows (t, c, n, s) of inverted-residual bottlenecks."""
    n = Net("MobileNetV2 1.0", (3, 224, 224))
    x = n.conv(n.input, 32, 3, 2, name="conv0")
    rows = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
            (6, 160, 3, 2), (6, 320, 1, 1)]
    i = 0
    for t, c, reps, stride in rows:
        for r in range(reps):
            i += 1
            s = stride if r == 0 else 1
            c_in = x.shape[0]
            p = f"block{i}"
            y = n.conv(x, c_in * t, 1, name=p + ".expand") if t != 1 else x
            y = n.dwconv(y, 3, s, name=p + ".dw")
            y = n.conv(y, c, 1, name=p + ".project")
            x = n.add(y, x, name=p + ".add") if s == 1 and c_in == c else y
    x = n.conv(x, 1280, 1, name="conv_last")
    x = n.global_pool(x)
    n.linear(x, 1000, name="classifier")
    return n


def efficientnet_b0() -> Net:
    """Tan & Le Table 1: MBConv(expand, kernel) stages with SE (squeeze = block input / 4)."""
    n = Net("EfficientNet-B0", (3, 224, 224))
    x = n.conv(n.input, 32, 3, 2, name="stem")
    stages = [(1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3),
              (6, 5, 1, 112, 3), (6, 5, 2, 192, 4), (6, 3, 1, 320, 1)]
    i = 0
    for t, k, stride, c, reps in stages:
        for r in range(reps):
            i += 1
            s = stride if r == 0 else 1
            c_in = x.shape[0]
            p = f"block{i}"
            y = n.conv(x, c_in * t, 1, name=p + ".expand") if t != 1 else x
            y = n.dwconv(y, k, s, name=p + ".dw")
            g = n.global_pool(y, name=p + ".se.pool")
            g = n.linear(g, max(1, c_in // 4), name=p + ".se.reduce")
            g = n.linear(g, y.shape[0], name=p + ".se.expand")
            y = n.mul(y, g, name=p + ".se.scale")
            y = n.conv(y, c, 1, name=p + ".project")
            x = n.add(y, x, name=p + ".add") if s == 1 and c_in == c else y
    x = n.conv(x, 1280, 1, name="head")
    x = n.global_pool(x)
    n.linear(x, 1000, name="classifier")
    return n


def vit_b16() -> Net:
    """ViT-B/16: patch embedding, class token, position add, 12 pre-LN encoder layers."""
    tokens, d, heads, mlp, layers = 197, 768, 12, 3072, 12
    dh = d // heads
    n = Net("ViT-B/16", (3, 224, 224))
    x = n.conv(n.input, d, 16, 16, name="patch_embed")  # (768, 14, 14) = 196 tokens
    x = n.op("concat", "cls_token", [x], (tokens, d))
    x = n.op("add", "pos_embed", [x], x.shape)  # + a parameter, not an activation
    for i in range(layers):
        p = f"layer{i}"
        a = n.layernorm(x, p + ".ln1")
        qkv = n.linear(a, 3 * d, name=p + ".qkv")
        scores = n.op("matmul", p + ".scores", [qkv], (heads, tokens, tokens),
                      heads * tokens * tokens * dh, rows=tokens)  # softmax in place
        ctx = n.op("matmul", p + ".context", [scores, qkv], (tokens, d),
                   heads * tokens * tokens * dh, rows=tokens)
        o = n.linear(ctx, d, name=p + ".out_proj")
        x = n.add(o, x, name=p + ".add1")
        b = n.layernorm(x, p + ".ln2")
        h = n.linear(b, mlp, name=p + ".fc1")  # GELU fused
        m = n.linear(h, d, name=p + ".fc2")
        x = n.add(m, x, name=p + ".add2")
    x = n.layernorm(x, "ln_final")
    n.op("linear", "head", [x], (1000,), d * 1000, d * 1000, 1)  # on the class token only
    return n


def ds_cnn() -> Net:
    """MLPerf Tiny KWS: conv 10x4/2 to 64, 4 x (dw 3x3 + pw 64), avgpool (24, 5), fc 12."""
    n = Net("DS-CNN", (1, 49, 10))
    x = n.conv(n.input, 64, (10, 4), 2, name="conv1")  # 25 x 5 x 64
    for i in range(1, 5):
        x = n.dwconv(x, 3, name=f"dw{i}")
        x = n.conv(x, 64, 1, name=f"pw{i}")
    x = n.global_pool(x)  # a (24, 5) window on the 25x5 map: one 1x1x64 output
    n.linear(x, 12)
    return n


def mobilenet_v1_025() -> Net:
    """MLPerf Tiny VWW: MobileNetV1 at alpha 0.25 on 96x96x3, 2 classes."""
    n = Net("MobileNetV1 0.25", (3, 96, 96))
    x = n.conv(n.input, 8, 3, 2, name="conv0")
    blocks = [(16, 1), (32, 2), (32, 1), (64, 2), (64, 1), (128, 2)] + [(128, 1)] * 5 \
        + [(256, 2), (256, 1)]
    for i, (c, s) in enumerate(blocks, start=1):
        x = n.dwconv(x, 3, s, name=f"dw{i}")
        x = n.conv(x, c, 1, name=f"pw{i}")
    x = n.global_pool(x)
    n.linear(x, 2)
    return n


def dlrm() -> Net:
    """DLRM (MLPerf Criteo Terabyte): bottom MLP, 26 lookups, dot interaction, top MLP."""
    dim, tables = 128, 26
    n = Net("DLRM", (13,))
    x = n.input
    for i, w in enumerate([512, 256, dim]):
        x = n.linear(x, w, name=f"bot{i}")
    emb = [n.op("embedding", f"emb{j}", [], (dim,), params=dim) for j in range(tables)]
    feats = tables + 1
    t = n.op("concat", "interact.cat", [x, *emb], (feats, dim))
    z = n.op("matmul", "interact.bmm", [t], (feats, feats), feats * feats * dim, rows=feats)
    pairs = feats * (feats - 1) // 2
    zf = n.op("gather", "interact.tril", [z], (pairs,))
    r = n.op("concat", "interact.out", [x, zf], (dim + pairs,))
    for i, w in enumerate([1024, 1024, 512, 256, 1]):
        r = n.linear(r, w, name=f"top{i}")
    return n


# catalog key -> (network, published MACs per sample, where that figure is from)
MODELS = {
    "ResNet50": (resnet50, 4.09e9, "torchvision resnet50 'GFLOPS' 4.09 (MACs)"),
    "MobileNetV2": (mobilenet_v2, 300e6, "Sandler et al. Table 4: 300M multiply-adds"),
    "EfficientNet_B0": (efficientnet_b0, 0.39e9, "Tan & Le Table 2: 0.39B (multiply-adds)"),
    "ViT_B16": (vit_b16, 17.56e9, "torchvision vit_b_16 'GFLOPS' 17.56 (MACs)"),
    "DS_CNN": (ds_cnn, 2_656_768, "catalog: derived from keras_model.py"),
    "MobileNetV1_025": (mobilenet_v1_025, 7_489_664, "catalog: derived from vww_model.py"),
    "DLRM": (dlrm, 2_458_496, "catalog: 4.92 MFLOP / 2 (MLPs + interaction)"),
}


def _size(nbytes: float) -> str:
    for unit, scale in (("MB", 1e6), ("kB", 1e3)):
        if nbytes >= scale:
            return f"{nbytes / scale:.3g} {unit}"
    return f"{nbytes:.0f} B"


CATALOG = Path(__file__).resolve().parent.parent
LAYERS_DIR = CATALOG / "layers"


def _model_source(key: str) -> str:
    """The top-level ``source:`` of the model's catalog file (the architecture's source)."""
    for line in (CATALOG / "models" / f"{key}.yaml").read_text(encoding="utf-8").splitlines():
        if line.startswith("source:"):
            return line.split(":", 1)[1].strip()
    raise SystemExit(f"models/{key}.yaml has no top-level source")


def layer_rows(net: Net) -> list[list]:
    """One row per operation, in order: name, kind, MACs, weights read, input and output
    elements and GEMM rows, all per sample (the network input is the first op's input)."""
    out: list[list] = []
    for op in net.ops:
        inputs = sum(t.elements for t in op.inputs) or (net.input.elements if op is net.ops[0]
                                                        else 0)
        out.append([op.name, op.kind, op.macs, op.params, inputs, op.output.elements, op.rows])
    return out


def write_layers() -> None:
    """Write catalog/layers/<Key>.yaml: the per-layer operator table the engine reads."""
    LAYERS_DIR.mkdir(exist_ok=True)
    for key, (fn, _, _) in MODELS.items():
        net = fn()
        lines = [f"# {net.name}: per-sample operations, generated by "
                 "catalog/derivations/activation_bytes.py --write-layers (do not edit).",
                 "# columns: name, kind, MACs, weights, input elements, output elements,"
                 " GEMM rows",
                 f"model: {key}", f"source: {_model_source(key)}", "kind: derived", "ops:"]
        lines += [f"  - [{', '.join(str(v) for v in row)}]" for row in layer_rows(net)]
        (LAYERS_DIR / f"{key}.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"wrote {LAYERS_DIR / (key + '.yaml')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", metavar="MODEL", help="list the counted tensors of one model")
    parser.add_argument("--write-layers", action="store_true",
                        help="write the per-layer operator tables to catalog/layers/")
    args = parser.parse_args()
    if args.write_layers:
        write_layers()
        return
    if args.ops:
        net = MODELS[args.ops][0]()
        for op in net.ops:
            print(f"{op.name:28s} {op.kind:9s} {'x'.join(map(str, op.output.shape)):>14s} "
                  f"{op.output.elements:>11,d} {op.macs:>15,d}")
        return

    header = (f"{'model':16s} {'MACs (walk)':>14s} {'published':>10s} {'diff':>6s} "
              f"{'output elements':>16s} {'total fp16':>10s} {'peak elements':>14s} "
              f"{'peak fp16':>9s}  peak at")
    print(header)
    print("-" * len(header))
    rows = [(key, fn(), ref) for key, (fn, ref, _) in MODELS.items()]
    rows.insert(1, ("(ResNet50 v1)", resnet50(v15=False), 3.8e9))
    for key, net, ref in rows:
        peak, where = net.peak()
        total = net.total_elements
        print(f"{key:16s} {net.macs:>14,d} {ref:>10.4g} {100 * (net.macs / ref - 1):>+5.1f}% "
              f"{total:>16,d} {_size(BYTES_PER_ELEMENT * total):>10s} {peak:>14,d} "
              f"{_size(BYTES_PER_ELEMENT * peak):>9s}  {where}")
    print("\nfp16 = elements x 2 B. Published MACs:")
    for key, (*_, note) in MODELS.items():
        print(f"  {key:16s} {note}")
    print("  (ResNet50 v1)    He et al. Table 1: 3.8 x 10^9 multiply-adds")


if __name__ == "__main__":
    main()
