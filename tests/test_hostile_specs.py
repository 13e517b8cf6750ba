"""Hostile spec files: none may hang, crash with a traceback or load as silent garbage.

Every case writes a small YAML file, loads it with ``mlsysim.load_spec`` (or the catalog loader)
and asserts the outcome class: a ``CatalogError`` (a ``ValueError``) whose message is one line
naming the file, the field and what is allowed, or a sane valid spec. Each test runs under a
SIGALRM deadline, so a regression that hangs fails in seconds instead of stalling CI; the
expansion bombs are also run in a child process with a hard timeout.
"""

from __future__ import annotations

import codecs
import os
import signal
import subprocess
import sys

import pytest

from mlsysim import load_spec
from mlsysim.catalog.loader import build_spec, read_yaml, split_provenance
from mlsysim.catalog.yaml_safe import MAX_BYTES, USER_MAX_BYTES
from mlsysim.errors import CatalogError
from mlsysim.specs import GridSpec, HardwareSpec, NodeSpec, SampleWorkload, TransformerWorkload
from mlsysim.specs.base import MAX_INT

DEADLINE_S = 10


@pytest.fixture(autouse=True)
def _deadline():
    """Fail a case that runs longer than DEADLINE_S instead of hanging the suite."""
    def expired(signum, frame):
        raise TimeoutError(f"hostile case still running after {DEADLINE_S} s: a hang")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(DEADLINE_S)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# ---------------------------------------------------------------------------------------------
# Spec texts, built from top-level "key: raw YAML" lines so a case can replace one field.

TRANSFORMER = {"name": "Tiny", "category": "language", "parameters": "1 Gparam", "layers": "2",
               "hidden_dim": "64", "heads": "8"}
SAMPLE = {"kind": "per_sample", "name": "Net", "category": "vision", "architecture": "cnn",
          "parameters": "25 Mparam", "layers": "50", "macs_per_sample": "4 GFLOP"}
HARDWARE = {"name": "Test GPU", "tier": "workstation", "vendor": "Acme",
            "compute": "{precision_flops: {fp16: 100 TFLOP/s}}",
            "memory": "{capacity: 16 GB, bandwidth: 1 TB/s}", "tdp": "300 W",
            "efficiency": "{compute: 0.8, memory: 0.8}"}


def _doc(base: dict, **over) -> str:
    """YAML text of ``base`` with fields replaced (raw YAML), added, or dropped (None)."""
    fields = {**base, **over}
    return "".join(f"{k}: {v}\n" for k, v in fields.items() if v is not None)


def tf(**over) -> str:
    return _doc(TRANSFORMER, **over)


def ps(**over) -> str:
    return _doc(SAMPLE, **over)


def hw(**over) -> str:
    return _doc(HARDWARE, **over)


def _write(tmp_path, content, name="spec.yaml"):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


def _error(call, path) -> str:
    """Run ``call``; it must raise a CatalogError whose message is one short line naming
    ``path``. Returns the message with the path replaced by ``<file>``."""
    with pytest.raises(CatalogError) as info:
        call()
    message = str(info.value)
    assert "\n" not in message, message
    assert len(message) < 1000, f"{len(message)} characters: {message[:300]}"
    assert str(path) in message, message
    assert "Traceback" not in message
    return message.replace(str(path), "<file>")  # needles must not match the test's own path


def _has(message: str, *needles: str):
    for needle in needles:
        assert needle in message, f"{needle!r} not in {message!r}"


# ---------------------------------------------------------------------------------------------
# The file itself: missing, not a file, too large, not UTF-8.

def test_missing_file(tmp_path):
    path = tmp_path / "nope.yaml"
    _has(_error(lambda: load_spec(path), path), "no such file")


def test_directory(tmp_path):
    path = tmp_path / "adir.yaml"
    path.mkdir()
    _has(_error(lambda: load_spec(path), path), "is a directory")


def test_named_pipe_is_refused_without_blocking(tmp_path):
    path = tmp_path / "pipe.yaml"
    os.mkfifo(path)  # opening a FIFO for reading blocks until a writer comes: never open it
    _has(_error(lambda: load_spec(path), path), "not a regular file")


def test_symlink_loop(tmp_path):
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.symlink_to(b)
    b.symlink_to(a)
    _has(_error(lambda: load_spec(a), a), "cannot read file", "symbolic links")


def test_character_device_is_refused():
    _has(_error(lambda: load_spec("/dev/zero"), "/dev/zero"), "not a regular file")


def test_path_with_a_nul_character():
    with pytest.raises(CatalogError, match="cannot read file"):
        load_spec("bad\x00name.yaml")


@pytest.mark.parametrize("path", [None, 3, ["a.yaml"]], ids=["none", "int", "list"])
def test_path_that_is_not_a_path_is_a_type_error(path):
    with pytest.raises(TypeError, match="must be a file path"):
        load_spec(path)


def test_file_over_the_size_limit_names_the_limit(tmp_path):
    path = _write(tmp_path, tf() + "#" * USER_MAX_BYTES + "\n")
    _has(_error(lambda: load_spec(path), path), f"{USER_MAX_BYTES:,} bytes", "limit")


def test_catalog_files_have_a_larger_limit(tmp_path):
    path = _write(tmp_path, "a: 1\n" + "#" * USER_MAX_BYTES + "\n")
    assert read_yaml(path) == {"a": 1}
    path = _write(tmp_path, "a: 1\n" + "#" * MAX_BYTES + "\n")
    _has(_error(lambda: read_yaml(path), path), f"{MAX_BYTES:,} bytes", "limit")


@pytest.mark.parametrize("content, needles", [
    pytest.param(b"", ("empty",), id="empty"),
    pytest.param(b"# only a comment\n\n", ("empty",), id="only-comments"),
    pytest.param(b"---\n...\n", ("empty",), id="empty-document"),
    pytest.param(b"- name: x\n- name: y\n", ("list of 2 items", "mapping"), id="top-list"),
    pytest.param(b"just a string\n", ("single value", "'just a string'", "mapping"),
                 id="top-string"),
    pytest.param(b"42\n", ("single value", "42", "mapping"), id="top-int"),
], )
def test_not_a_mapping(tmp_path, content, needles):
    path = _write(tmp_path, content)
    _has(_error(lambda: load_spec(path), path), *needles)


def test_latin1_names_the_offset_of_the_first_bad_byte(tmp_path):
    text = tf(name="Caf\u00e9 model").encode("latin-1")
    path = _write(tmp_path, text)
    offset = text.index(b"\xe9")
    _has(_error(lambda: load_spec(path), path),
         "not UTF-8", "0xE9", f"byte offset {offset}", "line 1", "Latin-1")


def test_windows_1252_quotes(tmp_path):
    text = tf().encode() + b"description: \x93smart\x94\n"
    path = _write(tmp_path, text)
    offset = text.index(b"\x93")
    _has(_error(lambda: load_spec(path), path), "0x93", f"byte offset {offset}", "line 7")


def test_truncated_utf8_sequence(tmp_path):
    text = tf().encode() + b"description: \xe2\x82\n"  # first two bytes of a 3-byte euro sign
    path = _write(tmp_path, text)
    offset = text.index(b"\xe2")
    _has(_error(lambda: load_spec(path), path), "0xE2", f"byte offset {offset}")


@pytest.mark.parametrize("encoding, name", [
    ("utf-16", "UTF-16"), ("utf-16-be", "UTF-16"), ("utf-32", "UTF-32")])
def test_utf16_and_utf32_with_a_byte_order_mark(tmp_path, encoding, name):
    text = tf().encode(encoding)
    if encoding == "utf-16-be":
        text = codecs.BOM_UTF16_BE + text
    path = _write(tmp_path, text)
    _has(_error(lambda: load_spec(path), path), f"{name}-encoded", "byte-order mark", "UTF-8")


def test_utf16_without_a_byte_order_mark(tmp_path):
    path = _write(tmp_path, tf().encode("utf-16-le"))
    _has(_error(lambda: load_spec(path), path), "NUL byte at byte offset 1", "UTF-16")


def test_control_character_is_one_line(tmp_path):
    path = _write(tmp_path, tf(name="Tiny\x07model"))
    _has(_error(lambda: load_spec(path), path), "malformed YAML", "#x0007")


def test_utf8_byte_order_mark_and_crlf_are_fine(tmp_path):
    text = codecs.BOM_UTF8 + tf(name="Caf\u00e9").replace("\n", "\r\n").encode()
    spec = load_spec(_write(tmp_path, text))
    assert spec.name == "Café" and spec.layers == 2


# ---------------------------------------------------------------------------------------------
# YAML structure: aliases, merge keys, tags, duplicates, nesting, syntax.

LAUGHS = ('a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
          + "".join(f"{n}: &{n} [{','.join(['*' + p] * 9)}]\n"
                    for p, n in zip("abcdefgh", "bcdefghi", strict=True)))
MERGE_BOMB = ("a: &a {x0: 1, x1: 1}\n"
              + "".join(f"{n}: &{n} {{<<: [*{p}, *{p}]}}\n"
                        for p, n in zip("abcdefghijklmnopqrstuvwxy", "bcdefghijklmnopqrstuvwxyz",
                                        strict=True)))


@pytest.mark.parametrize("content, needles", [
    pytest.param(tf() + LAUGHS, ("aliases", "line 7"), id="billion-laughs"),
    pytest.param(tf() + "loop: &l [*l]\n", ("aliases",), id="recursive-list"),
    pytest.param(tf() + "loop: &l {self: *l}\n", ("aliases",), id="recursive-mapping"),
    pytest.param(tf(hidden_dim="&d 64", ffn_dim="*d"), ("aliases", "line 5"), id="alias-reuse"),
    pytest.param("base: &b {layers: 2}\n" + tf(layers=None) + "<<: *b\n", ("merge keys",),
                 id="merge-key"),
    pytest.param(MERGE_BOMB, ("merge keys",), id="merge-bomb"),
    pytest.param(tf(name="!!python/object/apply:os.system ['echo pwned']"),
                 ("tag", "python/object/apply:os.system", "not allowed"), id="python-object"),
    pytest.param(tf(name="!!python/name:os.system ''"), ("tag", "python/name"),
                 id="python-name"),
    pytest.param(tf(layers="!custom 2"), ("tag", "!custom", "line 4"), id="custom-tag"),
    pytest.param(tf() + "layers: 3\n", ("duplicate key 'layers'", "lines 4 and 7"),
                 id="duplicate-top-level"),
    pytest.param(hw(memory="\n  capacity: 16 GB\n  bandwidth: 1 TB/s\n  capacity: 80 GB"),
                 ("duplicate key 'capacity'", "lines 6 and 8"), id="duplicate-nested"),
    pytest.param(hw(memory="{capacity: 16 GB, bandwidth: 1 TB/s, bandwidth: 2 TB/s}"),
                 ("duplicate key 'bandwidth'", "lines 5 and 5"), id="duplicate-flow"),
    pytest.param(tf() + "? [a, b]\n: 1\n", ("mapping key must be a string",),
                 id="unhashable-key"),
    pytest.param(tf() + "---\n" + tf(), ("malformed YAML", "single document"),
                 id="two-documents"),
    pytest.param("name: X\nmemory: {capacity: 16 GB\ntdp: 3 W\n", ("malformed YAML (line",),
                 id="unclosed-flow-mapping"),
    pytest.param(tf() + "moe:\n\texperts: 8\n", ("malformed YAML", "line 8"), id="tab-indent"),
    pytest.param(tf(name="'unterminated"), ("malformed YAML",), id="unterminated-quote"),
    pytest.param(tf(layers="[" * 990 + "]" * 990), ("layers", "nested more than 32 levels"),
                 id="deep-flow-990"),
    pytest.param(tf(layers="[" * 5000 + "]" * 5000), ("malformed YAML", "nesting depth"),
                 id="deep-flow-5000"),
    pytest.param(tf(layers="\n" + "".join(" " * (i + 1) + f"k{i}:\n" for i in range(40))
                    + " " * 41 + "1"), ("layers.k0.k1", "nested more than 32 levels"),
                 id="deep-block-40"),
    pytest.param(tf(layers="1" * 5000), ("integer", "5000 characters", "too large", "line 4"),
                 id="int-of-5000-digits"),
    pytest.param(tf(layers="010"), ("'010'", "octal number (8)", "line 4"), id="octal-int"),
    pytest.param(tf(hidden_dim="-064"), ("octal",), id="octal-negative"),
    pytest.param(tf(layers="1:20"), ("'1:20'", "base-60", "line 4"), id="sexagesimal-int"),
    pytest.param(hw(efficiency="{compute: 0:45.5, memory: 0.8}"), ("base-60",),
                 id="sexagesimal-float"),
    pytest.param(tf(provenance="{layers: {source: x}}"), ("provenance: not a field",),
                 id="provenance-key"),
])
def test_yaml_structure(tmp_path, content, needles):
    path = _write(tmp_path, content)
    _has(_error(lambda: load_spec(path), path), *needles)


@pytest.mark.parametrize("bomb", [LAUGHS, MERGE_BOMB], ids=["laughs", "merge"])
def test_bombs_finish_in_a_child_process(tmp_path, bomb):
    """A hang that a signal cannot interrupt (inside C code) still fails: hard timeout."""
    path = _write(tmp_path, tf() + bomb if bomb is LAUGHS else bomb)
    code = ("import sys, mlsysim\ntry:\n    mlsysim.load_spec(sys.argv[1])\n"
            "except mlsysim.errors.CatalogError as e:\n    print('refused:', e)\n")
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                          text=True, timeout=DEADLINE_S - 2)
    assert done.returncode == 0 and done.stdout.startswith("refused:"), done.stderr[-500:]


def test_catalog_loader_refuses_aliases_too(tmp_path):
    path = _write(tmp_path, "a: &x 1\nb: *x\n")
    _has(_error(lambda: read_yaml(path), path), "aliases")


def test_an_anchor_that_is_never_reused_is_harmless(tmp_path):
    assert load_spec(_write(tmp_path, tf(layers="&n 2"))).layers == 2


def test_split_provenance_of_a_cycle_is_bounded():
    data = {"name": "x"}
    data["self"] = data  # built in Python: no YAML reader involved
    with pytest.raises(CatalogError, match="nested more than 32 levels"):
        split_provenance(data, "cyclic", require_source=False)


def test_split_provenance_of_a_shared_reference_bomb_is_bounded():
    node = ["lol"] * 10
    for _ in range(9):  # 10^10 leaves if walked as a tree, 100 objects in memory
        node = [node] * 10
    with pytest.raises(CatalogError, match="more than 1,000,000 values"):
        split_provenance({"bomb": node}, "dag", require_source=False)


# ---------------------------------------------------------------------------------------------
# Values: booleans, signs, sizes, cross-field consistency.

@pytest.mark.parametrize("content, needles", [
    pytest.param(tf(layers="true"), ("layers", "boolean true"), id="layers-true"),
    pytest.param(tf(layers="yes"), ("layers", "boolean true", "yes/no"), id="layers-yes"),
    pytest.param(tf(heads="on"), ("heads", "boolean"), id="heads-on"),
    pytest.param(tf(kv_heads="off"), ("kv_heads", "boolean false"), id="kv-heads-off"),
    pytest.param(tf(year="yes"), ("year", "boolean"), id="year-yes"),
    pytest.param(hw(efficiency="{compute: 0.8, memory: true}"),
                 ("efficiency.memory", "boolean true"), id="efficiency-memory-true"),
    pytest.param(hw(efficiency="{compute: yes, memory: 0.8}"),
                 ("efficiency.compute", "boolean"), id="efficiency-compute-yes"),
    pytest.param(hw(compute="{precision_flops: {fp16: 100 TFLOP/s}, cores: yes}"),
                 ("compute.cores", "boolean"), id="cores-yes"),
    pytest.param(tf(layers="0"), ("layers", "greater than 0", "got 0"), id="layers-zero"),
    pytest.param(tf(layers="-3"), ("layers", "greater than 0", "got -3"), id="layers-negative"),
    pytest.param(tf(heads="0"), ("heads", "greater than 0"), id="heads-zero"),
    pytest.param(tf(hidden_dim="-64"), ("hidden_dim", "greater than 0"), id="hidden-negative"),
    pytest.param(tf(kv_heads="0"), ("kv_heads", "greater than 0"), id="kv-heads-zero"),
    pytest.param(tf(vocab_size="-1"), ("vocab_size", "greater than 0"), id="vocab-negative"),
    pytest.param(tf(layers="2.5"), ("layers", "integer", "2.5"), id="layers-fractional"),
    pytest.param(tf(layers=".inf"), ("layers", "finite"), id="layers-inf"),
    pytest.param(tf(layers=".nan"), ("layers",), id="layers-nan"),
    pytest.param(tf(layers="1" * 400), ("layers", "400 digits", "too large", "2^53"),
                 id="layers-400-digits"),
    pytest.param(tf(hidden_dim=str(2**60), heads="1"), ("hidden_dim", "too large"),
                 id="hidden-dim-2-60"),
    pytest.param(tf(vocab_size="9" * 300), ("vocab_size", "too large"), id="vocab-300-digits"),
    pytest.param(tf(max_context="1.0e300"), ("max_context",), id="context-1e300"),
    pytest.param(hw(efficiency="{compute: 0.8, memory: .nan}"), ("efficiency.memory",),
                 id="efficiency-nan"),
    pytest.param(hw(efficiency="{compute: 0.8, memory: .inf}"), ("efficiency.memory",),
                 id="efficiency-inf"),
    pytest.param(hw(efficiency="{compute: 0.8, memory: " + "9" * 400 + "}"),
                 ("efficiency.memory",), id="efficiency-400-digits"),
    pytest.param(hw(efficiency="{compute: 0, memory: 0.8}"),
                 ("efficiency.compute", "greater than 0"), id="efficiency-zero"),
    pytest.param(tf(moe="{experts: 8, active_experts: 2, active_parameters: 2 Gparam}"),
                 ("moe.active_parameters", "exceeds parameters"), id="moe-active-gt-total"),
    pytest.param(tf(moe="{experts: 8, active_experts: 9, active_parameters: 0.5 Gparam}"),
                 ("moe", "active_experts (9) exceeds experts (8)"), id="moe-active-experts"),
    pytest.param(tf(moe="{experts: 1, active_experts: 1, active_parameters: 0.5 Gparam}"),
                 ("moe.experts", "greater than 1"), id="moe-one-expert"),
    pytest.param(tf(moe="{experts: true, active_experts: 1, active_parameters: 0.5 Gparam}"),
                 ("moe.experts", "boolean"), id="moe-experts-true"),
    pytest.param(ps(activation_bytes_per_sample="10 MB", peak_activation_bytes_per_sample="20 MB"),
                 ("peak_activation_bytes_per_sample", "exceeds activation_bytes_per_sample"),
                 id="peak-gt-total-activations"),
    pytest.param(ps(embedding_parameters="30 Mparam"), ("embedding_parameters exceeds",),
                 id="embedding-gt-total"),
    pytest.param(ps(macs_per_sample=None), ("flops_per_sample or macs_per_sample",),
                 id="sample-without-work"),
    pytest.param(ps(layers="no"), ("layers", "boolean false"), id="sample-layers-no"),
    pytest.param(tf(heads="7"), ("hidden_dim (64) must be divisible by heads (7)",),
                 id="heads-do-not-divide"),
    pytest.param(tf(kv_heads="3"), ("kv_heads (3) must divide heads (8)",), id="kv-not-divide"),
    pytest.param(tf(kv_heads="16"), ("kv_heads (16) must divide heads (8)",), id="kv-gt-heads"),
    pytest.param(hw(memory="{capacity: 16 GB, bandwidth: 1 TB/s, reserve: 16 GB}"),
                 ("reserve", "must be smaller"), id="reserve-ge-capacity"),
    pytest.param(hw(compute="{precision_flops: {bf16: 100 TFLOP/s}}"),
                 ("default_precision 'fp16' has no peak",), id="default-precision-missing"),
    pytest.param(hw(compute="{precision_flops: {fp12: 100 TFLOP/s}}"),
                 ("compute.precision_flops.fp12", "should be"), id="unknown-precision"),
    pytest.param(hw(tier="datacenter"), ("tier", "should be 'cloud'"), id="unknown-tier"),
    pytest.param(tf(name="[a, b]"), ("name", "valid string", "list of 2 items"),
                 id="name-is-a-list"),
    pytest.param(tf(category="null"), ("category", "should be 'language'"), id="category-null"),
    pytest.param(tf(moe="5"), ("moe", "MoESpec", "got 5"), id="moe-is-a-number"),
])
def test_values(tmp_path, content, needles):
    path = _write(tmp_path, content)
    _has(_error(lambda: load_spec(path), path), *needles)


@pytest.mark.parametrize("value", ["9**9**9 GB", "1e300 EB", "Gb", "-0 GB", "16 GB " * 30])
def test_hostile_quantity_strings_end_to_end(tmp_path, value):
    """Quantity strings are checked in units.py; here only that they arrive as one line
    naming the file and the field."""
    path = _write(tmp_path, hw(memory=f"{{capacity: '{value}', bandwidth: 1 TB/s}}"))
    _has(_error(lambda: load_spec(path), path), "memory.capacity")


def test_too_large_count_is_refused_before_any_float_overflow():
    with pytest.raises(ValueError, match="too large"):
        TransformerWorkload(name="t", category="language", parameters="1 Gparam",
                            layers=MAX_INT + 1, hidden_dim=64, heads=8)
    at_limit = TransformerWorkload(name="t", category="language", parameters="1 Gparam",
                                   layers=MAX_INT, hidden_dim=64, heads=8)
    assert at_limit.si.layers == 2**53 and float(at_limit.layers) == 2.0**53


def test_spec_methods_cut_hostile_arguments_short(tmp_path):
    spec = load_spec(_write(tmp_path, hw()))
    with pytest.raises(ValueError, match="not a known precision") as info:
        spec.compute.flops("x" * 100_000)
    assert len(str(info.value)) < 300
    with pytest.raises(TypeError, match="field paths are strings"):
        spec.replace({1: "2 TB/s"})
    with pytest.raises(ValueError, match="is not a nested spec") as info:
        spec.replace({"tdp." * 10_000 + "x": 1})
    assert len(str(info.value)) < 300
    path = _write(tmp_path, hw(key="'" + "not an identifier " * 5000 + "'"), "key.yaml")
    _has(_error(lambda: load_spec(path), path), "key", "Python identifier")


# ---------------------------------------------------------------------------------------------
# The file's own kind, sources and names.

@pytest.mark.parametrize("content, needles", [
    pytest.param(tf(kind="[transformer]"), ("kind", "list of 1 item is not", "one of hardware"),
                 id="kind-list"),
    pytest.param(tf(kind="{a: 1}"), ("kind", "mapping of 1 key "), id="kind-mapping"),
    pytest.param(tf(kind="cnn"), ("kind", "'cnn' is not one of hardware, transformer"),
                 id="kind-unknown"),
    pytest.param(tf(kind="''"), ("kind", "''"), id="kind-empty"),
    pytest.param(tf(layers="{value: 2, source: [a, b]}"), ("layers", "source must be a key",
                                                            "list of 2 items"),
                 id="source-list"),
    pytest.param(tf(source="{a: 1}"), ("parameters", "source must be a key", "mapping of 1 key"),
                 id="source-mapping"),
    pytest.param(tf(layers="{value: 2, source: my-notes}"),
                 ("layers", "'my-notes' is not a key of catalog/sources.yaml"),
                 id="source-unknown"),
    pytest.param(tf(layers="{value: 2, source: nvidia-h100-datasheet, kind: guess}"),
                 ("provenance.layers.kind", "should be 'spec'"), id="provenance-kind"),
    pytest.param(tf(layers="{value: 2, kind: guess}"),
                 ("layers: kind must be one of spec, measured, estimate, derived, got 'guess'",),
                 id="provenance-kind-without-source"),
    pytest.param(tf(sparsity="[dense]"), ("parameters: sparsity must be one of dense, sparse",
                                          "list of 1 item"), id="sparsity-list"),
    pytest.param(hw(efficiency="{device_class: nvidia_hoper, memory: 0.8}"),
                 ("efficiency.device_class", "'nvidia_hoper'", "nvidia_hopper"),
                 id="device-class-unknown"),
    pytest.param(tf(layerz="3"), ("unknown key 'layerz'", "did you mean 'layers'"),
                 id="unknown-key-suggestion"),
    pytest.param(hw(memory="{capacity: 16 GB, bandwith: 1 TB/s}"),
                 ("memory: unknown key 'bandwith'", "'bandwidth'", "MemorySpec"),
                 id="unknown-nested-key"),
])
def test_kind_sources_and_names(tmp_path, content, needles):
    path = _write(tmp_path, content)
    _has(_error(lambda: load_spec(path), path), *needles)


def test_explicit_kind_argument_must_be_known(tmp_path):
    path = _write(tmp_path, tf())
    with pytest.raises(CatalogError, match="kind=a list of 1 item is not one of"):
        load_spec(path, kind=["x"])


@pytest.mark.parametrize("content, needles", [
    pytest.param(tf(parameters=None), ("parameters: required field is missing",
                                       "a quantity in param"), id="missing-quantity"),
    pytest.param(tf(heads=None), ("heads: required field is missing", "a whole number"),
                 id="missing-count"),
    pytest.param(tf(category=None), ("category: required field is missing", "one of 'language'"),
                 id="missing-literal"),
    pytest.param(hw(memory="{capacity: 16 GB}"), ("memory.bandwidth: required field is missing",
                                                  "a quantity in B/s"), id="missing-nested"),
    pytest.param(hw(compute=None), ("compute: required field is missing",
                                    "mapping of ComputeSpec fields"), id="missing-block"),
])
def test_missing_fields_say_what_to_give(tmp_path, content, needles):
    path = _write(tmp_path, content)
    _has(_error(lambda: load_spec(path), path), *needles)


def test_twenty_thousand_unknown_keys_give_a_short_message(tmp_path):
    path = _write(tmp_path, tf() + "".join(f"x{i}: 1\n" for i in range(20_000)))
    message = _error(lambda: load_spec(path), path)
    _has(message, "unknown keys 'x0', 'x1'", "and 19,995 more", "TransformerWorkload")


def test_thousands_of_problems_are_counted_not_listed(tmp_path):
    precisions = ", ".join(f"p{i}: {i} TFLOP/s" for i in range(3000))
    path = _write(tmp_path, hw(compute=f"{{precision_flops: {{{precisions}}}}}"))
    _has(_error(lambda: load_spec(path), path), "compute.precision_flops.p0", "more problems")


@pytest.mark.parametrize("key", ["k" * 1000, '? "' + "k" * 100_000 + '"\n'],
                         ids=["plain-1000", "explicit-100000"])
def test_a_huge_key_is_cut_short(tmp_path, key):
    path = _write(tmp_path, tf() + key + ": 1\n")
    _has(_error(lambda: load_spec(path), path), "unknown key 'kkkk", "…")


def test_a_huge_value_is_described_not_dumped(tmp_path):
    path = _write(tmp_path, tf(layers="[" + ", ".join(["1"] * 50_000) + "]"))
    _has(_error(lambda: load_spec(path), path), "layers", "list of 50000 items")


def _fill(head: str, item: str, tail: str) -> str:
    """``head`` + as many ``item``s (comma-separated) as fit a user file + ``tail``."""
    n = (USER_MAX_BYTES - len(head) - len(tail) - 100) // (len(item) + 1)
    return head + ",".join([item] * n) + tail


@pytest.mark.parametrize("content", [
    pytest.param(_fill(tf(layers=None) + "layers: [", "1", "]\n"), id="ints"),
    pytest.param(_fill(tf(layers=None) + "layers: [", "{a: 1}", "]\n"), id="small-mappings"),
    pytest.param(hw(compute="{precision_flops: {" + ", ".join(
        f"p{i}: 1 TFLOP/s" for i in range(USER_MAX_BYTES // 19)) + "}}"), id="bad-precisions"),
])
def test_largest_user_file_of_tiny_values_is_quick(tmp_path, content):
    """The size cap bounds the work: a file at the limit made of the cheapest values to write
    and the dearest to check is refused well inside the deadline (it took 10 s at 2 MB)."""
    path = _write(tmp_path, content)
    assert len(content) <= USER_MAX_BYTES
    _error(lambda: load_spec(path), path)


def test_a_deep_nested_value_is_not_a_recursion_error(tmp_path):
    path = _write(tmp_path, hw(memory="{capacity: " + "{a: " * 900 + "1" + "}" * 901))
    _has(_error(lambda: load_spec(path), path), "memory.capacity", "nested more than")


# ---------------------------------------------------------------------------------------------
# Sane inputs still load, with the values they say.

def test_valid_transformer_with_moe(tmp_path):
    spec = load_spec(_write(tmp_path, tf(
        parameters="47 Gparam", hidden_dim="4096", heads="32", kv_heads="8", layers="32",
        moe="{experts: 8, active_experts: 2, active_parameters: 13 Gparam}")))
    assert isinstance(spec, TransformerWorkload)
    assert (spec.moe.experts, spec.moe.active_experts, spec.n_kv_heads) == (8, 2, 8)


def test_active_parameters_equal_to_total_is_allowed(tmp_path):
    spec = load_spec(_write(tmp_path, tf(
        moe="{experts: 2, active_experts: 2, active_parameters: 1 Gparam}")))
    assert spec.moe.active_parameters == spec.parameters


def test_valid_per_sample_with_peak_below_total(tmp_path):
    spec = load_spec(_write(tmp_path, ps(activation_bytes_per_sample="20 MB",
                                         peak_activation_bytes_per_sample="5 MB")))
    assert isinstance(spec, SampleWorkload)
    assert spec.si.peak_activation_bytes_fp16 == pytest.approx(5e6)
    assert spec.si.flops_per_sample == pytest.approx(8e9)  # 2 FLOP per MAC


def test_quoted_count_is_read_as_that_count(tmp_path):
    assert load_spec(_write(tmp_path, tf(layers="'12'"))).layers == 12


def test_kind_hardware_written_in_the_file(tmp_path):
    spec = load_spec(_write(tmp_path, hw(kind="hardware")))
    assert isinstance(spec, HardwareSpec) and spec.tdp.to("W").magnitude == 300


def test_user_hardware_may_name_a_device_class(tmp_path):
    spec = load_spec(_write(tmp_path, hw(efficiency="{device_class: nvidia_hopper, memory: 0.8}")))
    assert spec.efficiency.device_class.key == "nvidia_hopper"


def test_provenance_without_a_source_is_fine_in_a_user_file(tmp_path):
    spec = load_spec(_write(tmp_path, tf(layers="{value: 2, kind: estimate, note: guessed}")))
    assert spec.layers == 2


# ---------------------------------------------------------------------------------------------
# Catalog-only specs (nodes, grids, calibrations) through the catalog's build_spec.

@pytest.mark.parametrize("cls, fields, needles", [
    pytest.param(GridSpec, {"name": "g", "carbon_intensity": "400 g/kWh", "pue": True},
                 ("pue", "boolean true"), id="pue-true"),
    pytest.param(GridSpec, {"name": "g", "carbon_intensity": "400 g/kWh", "pue": float("nan")},
                 ("pue",), id="pue-nan"),
    pytest.param(NodeSpec, {"name": "n", "count": True}, ("count", "boolean true"),
                 id="node-count-yes"),
    pytest.param(NodeSpec, {"name": "n", "count": 0}, ("count", "greater than 0"),
                 id="node-count-zero"),
    pytest.param(NodeSpec, {"name": "n", "count": 10**400}, ("count", "too large"),
                 id="node-count-huge"),
])
def test_catalog_specs(tmp_path, cls, fields, needles):
    import mlsysim

    resolved = {"accelerator": mlsysim.Hardware.H100} if cls is NodeSpec else {}
    origin = str(tmp_path / "entry.yaml")
    message = _error(lambda: build_spec(cls, fields, origin, require_source=False, **resolved),
                     origin)
    _has(message, *needles)


@pytest.mark.parametrize("gemm, needles", [
    pytest.param({"ceiling": {"fp16": 0}, "half_rows": 64}, ("gemm.ceiling.fp16",
                                                             "greater than 0"), id="ceiling-0"),
    pytest.param({"ceiling": {"fp16": 2.0}, "half_rows": 64}, ("gemm.ceiling.fp16",
                                                               "less than or equal to 1"),
                 id="ceiling-2"),
    pytest.param({"ceiling": {"fp16": 0.7}, "half_rows": float("inf")}, ("gemm.half_rows",
                                                                         "finite"),
                 id="half-rows-inf"),
])
def test_device_class_fractions(tmp_path, gemm, needles):
    from mlsysim.specs.calibration import DeviceClassSpec

    fields = {"name": "c", "gemm": gemm, "kernel_launch": "5 us",
              "attention": {"ceiling": 0.6, "half_context": 400, "kv_bandwidth": 1.0}}
    origin = str(tmp_path / "class.yaml")
    message = _error(lambda: build_spec(DeviceClassSpec, fields, origin, require_source=False),
                     origin)
    _has(message, *needles)
