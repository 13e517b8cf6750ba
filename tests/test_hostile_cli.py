"""Hostile input through the ``mlsysim`` command: a bad argument exits with status 2 and one
line on stderr that names it; a good one prints a report (or strict JSON). Never a traceback,
never NaN or Infinity in JSON, never a hang (each case under a thread timeout)."""

import json
import subprocess
import sys

import pytest

from mlsysim.cli import main

pytestmark = pytest.mark.timeout(30, method="thread")
HUGE = "9" * 400


def run(argv, capsys):
    """(status, stdout, stderr) of ``mlsysim argv`` run in this process."""
    try:
        status = main(argv)
    except SystemExit as exit_:  # argparse's own errors
        status = exit_.code
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize("argv, words", [
    (["eval", "GPT3", "H100_Cluster_1024"], ["fleet", "DGX_H100"]),
    (["eval", "Llama3_8B", "H100", "--batch-size", HUGE], ["batch_size", "2**53"]),
    (["eval", "Llama3_8B", "H100", "--batch-size", "9" * 5000], ["--batch-size", "characters"]),
    (["eval", "Llama3_8B", "H100", "--batch-size", "-1"], ["--batch-size", "positive"]),
    (["eval", "Llama3_8B", "H100", "--batch-size", "1.5"], ["--batch-size"]),
    (["eval", "Llama3_8B", "H100", "--batch-size", "0x10"], ["--batch-size"]),
    (["eval", "Llama3_8B", "H100", "--seq-len", "1e9"], ["--seq-len"]),
    (["eval", "Llama3_8B", "H100", "--seq-len", "100000000"], ["seq_len", "max_context"]),
    (["eval", "Llama3_8B", "H100", "--efficiency", "nan"], ["--efficiency"]),
    (["eval", "Llama3_8B", "H100", "--efficiency", "inf"], ["--efficiency"]),
    (["eval", "Llama3_8B", "H100", "--efficiency", "5e-324"], ["efficiency"]),
    (["eval", "Llama3_8B", "H100", "--efficiency", "1.01"], ["--efficiency"]),
    (["eval", "Llama3_8B", "H100", "--precision", "fp17"], ["--precision", "fp16"]),
    (["eval", "Llama3_8B", "H100", "--phase", "decoding"], ["--phase"]),
    (["eval", "ResNet50", "H100", "--phase", "decode"], ["phase", "per-sample"]),
    (["eval", "BERT_Base", "H100", "--phase", "decode"], ["encoder", "prefill"]),
    (["eval", "Llama3_8B", "H1OO"], ["'H100'"]),
    (["eval", "Llama3_8B", "nvidia h100"], ["did you mean 'H100'"]),
    (["eval", "Llama3_8", "H100"], ["unknown model", "Llama3_8B"]),
    (["eval", "Llama3_8B", "x" * 20000], ["unknown"]),
    (["eval", "Llama3_8B", ""], ["unknown"]),
    (["eval", "Llama3_8B", "DGX_H100", "--tp", "3"], ["tp=3", "heads"]),
    (["eval", "Llama3_8B", "H100", "--tp", "8"], ["--tp", "node"]),
    (["eval", "Llama3_8B", "H100", "--wafers", "2"], ["--wafers", "wafer-scale"]),
    (["eval", "Llama3_8B", "H100", "--in-flight", "2"], ["--in-flight", "wafer-scale"]),
    (["eval", "Llama3_70B", "Cerebras_CS3", "--wafers", "4", "--in-flight", "5"],
     ["in_flight=5", "1 to 4"]),
    (["eval", "GPT3", "Cerebras_CS3", "--wafers", "500"], ["wafers", "layers"]),
    (["eval", "Llama3_8B", "DGX_H100", "--training"], ["--training", "node"]),
    (["eval", "Llama3_8B", "Cerebras_CS3", "--weight-precision", "int4"], ["wafers"]),
    (["eval", "Llama3_8B", "H100", "--weight-precision", "int3"], ["--weight-precision"]),
    (["eval", "Llama3_8B", "H100", "--cost-model", "magic"], ["--cost-model"]),
    (["sensitivity", "Llama3_8B", "H100", "--wafers", "2"], ["wafers", "wafer-scale"]),
    (["sensitivity", "GPT3", "H100_Cluster_1024"], ["fleet"]),
    (["sensitivity", "Llama3_8B", "H100", "--weight-precision", "int4"], ["one precision"]),
    (["zoo", "gpus"], ["kind"]),
    (["eval"], ["required"]),
    (["frobnicate"], ["invalid choice"]),
])
def test_bad_arguments_exit_2_with_one_line(argv, words, capsys):
    status, out, err = run(argv, capsys)
    assert status == 2, (status, out[:200], err[:200])
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mlsysim: error:"), err[:300]
    assert len(lines[0]) < 400 and "Traceback" not in err
    for word in words:
        assert word in lines[0], (word, lines[0])


def _no_non_finite(text: str) -> dict:
    def refuse(token):
        raise AssertionError(f"non-strict JSON token {token}")
    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize("argv", [
    ["eval", "Llama3_8B", "H100", "--json"],
    ["eval", "Llama3_8B", "H100", "--json", "--batch-size", str(2 ** 52)],
    ["eval", "Llama3_8B", "H100", "--json", "--efficiency", "1e-6"],
    ["eval", "Llama3_70B", "H100", "--json"],  # infeasible: said, with numbers
    ["eval", "GPT3", "Cerebras_CS3", "--json", "--seq-len", "2048"],
    ["eval", "Llama3_70B", "Cerebras_CS3", "--json", "--in-flight", "4"],
    ["eval", "GPT3", "DGX_H100", "--json"],
    ["eval", "ResNet50", "H100", "--json", "--batch-size", "100000"],
    ["sensitivity", "Llama3_8B", "H100", "--json"],
    ["sensitivity", "BERT_Base", "Cerebras_CS3", "--json"],
    ["zoo", "hardware", "--json"],
    ["zoo", "models", "--json"],
])
def test_json_is_strict_and_finite(argv, capsys):
    status, out, err = run(argv, capsys)
    assert status == 0, err
    _no_non_finite(out)


def test_a_closed_pipe_is_not_an_error():
    """``mlsysim zoo hardware | head -1``: the reader leaves early."""
    proc = subprocess.Popen([sys.executable, "-m", "mlsysim.cli", "zoo", "hardware"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=20) == 0 and "Traceback" not in err and "Broken" not in err


def test_an_unknown_name_in_a_subprocess_is_one_line_and_status_2():
    proc = subprocess.run([sys.executable, "-m", "mlsysim.cli", "eval", "Llama3_8B",
                           "9**9**9 GB"], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
