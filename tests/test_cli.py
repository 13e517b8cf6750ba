"""The `mlsysim` command: readable reports, JSON, and one-line errors with exit status 2."""

import json
import subprocess
import sys

import pytest

from mlsysim.cli import main


def run(*args):
    return subprocess.run([sys.executable, "-m", "mlsysim.cli", *args], capture_output=True,
                          text=True)


def test_eval_report(capsys):
    assert main(["eval", "Llama3_70B", "H100", "--batch-size", "1"]) == 0
    out = capsys.readouterr().out
    assert "Llama-3 70B" in out and "Bottleneck" in out and "INFEASIBLE" in out


def test_eval_json(capsys):
    assert main(["eval", "Llama3_8B", "H100", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["bottleneck"] == "Memory" and data["latency"]["unit"] == "s"


def test_eval_wafer_uses_weight_streaming(capsys):
    assert main(["eval", "GPT3", "Cerebras_CS3", "--seq-len", "2048"]) == 0
    assert "weight streaming" in capsys.readouterr().out


def test_eval_pipelines_batches_through_resident_wafers(capsys):
    assert main(["eval", "Llama3_70B", "Cerebras_CS3", "--in-flight", "4", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["devices"] == 4 and data["in_flight"] == 4
    assert data["step_interval"]["value"] < data["latency"]["value"]
    assert main(["eval", "Llama3_8B", "H100", "--in-flight", "2"]) == 2
    assert "--in-flight applies to a wafer-scale device" in capsys.readouterr().err
    assert main(["sensitivity", "Llama3_70B", "Cerebras_CS3", "--wafers", "4", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["solver"] == "weights resident" and "wafer_latency" in data["sensitivities"]


def test_eval_on_a_node_uses_tensor_parallelism(capsys):
    assert main(["eval", "GPT3", "DGX_H100", "--tp", "8"]) == 0
    out = capsys.readouterr().out
    assert "8 × NVIDIA H100" in out and "bound by communication" in out
    assert "INFEASIBLE" not in out


def test_sensitivity_command(capsys):
    assert main(["sensitivity", "Llama3_8B", "H100", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["binding_constraint"] == "memory_bandwidth"
    assert data["sensitivities"]["memory_bandwidth"] < -0.5


def test_zoo(capsys):
    assert main(["zoo", "hardware"]) == 0
    assert "H100" in capsys.readouterr().out
    assert main(["zoo", "models", "--json"]) == 0
    assert any(m["key"] == "GPT3" for m in json.loads(capsys.readouterr().out))


@pytest.mark.parametrize("args, needle", [
    (["eval", "Llama3_7B", "H100"], "did you mean"),
    (["eval", "Llama3_8B", "H1000"], "did you mean 'H100'"),
    (["eval", "Llama3_8B", "H100", "--batch-size", "0"], "batch-size"),
    (["eval", "Llama3_8B", "H100", "--batch-size", "two"], "batch-size"),
    (["eval", "Llama3_8B", "A100", "--precision", "fp8"], "supports"),
    (["eval", "Llama3_8B", "H100", "--seq-len", "99999"], "max_context"),
    (["zoo", "gpus"], "invalid choice"),
    (["eval", "GPT3", "H100", "--tp", "2"], "applies to a node"),
    (["sensitivity", "GPT3", "DGX_H1000"], "did you mean 'DGX_H100'"),
])
def test_bad_input_exits_2_with_one_line(args, needle):
    p = run(*args)
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in p.stderr


def test_cli_precision_choices_match_the_unit_table():
    from mlsysim.cli import PRECISION_CHOICES
    from mlsysim.units import PRECISIONS

    assert list(PRECISION_CHOICES) == list(PRECISIONS)
