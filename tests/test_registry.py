"""Registry paths of the published call surface, lookup by string, and did-you-mean errors."""

import subprocess
import sys

import pytest

import mlsysim
from mlsysim.errors import UnknownNameError

H, M = mlsysim.Hardware, mlsysim.Models

SPEC_HARDWARE = ["Cloud.H100", "Cloud.A100", "Cloud.H200", "Cloud.B200", "Cloud.V100", "Cloud.T4",
                 "Cloud.MI300X", "Cloud.TPUv5p", "Cloud.Cerebras_CS3", "H100", "A100"]
ISSUE_HARDWARE = ["Cloud.H100_PCIe", "Cloud.A100_40GB", "Cloud.TPUv4", "Cloud.TPUv5e",
                  "Cloud.Cerebras_CS2", "Workstation.RTX4090", "Workstation.M2_Ultra",
                  "Workstation.M3_Max", "Mobile.iPhone15_Pro", "Mobile.Snapdragon_8_Gen3",
                  "Edge.Jetson_AGX_Orin", "Edge.Jetson_Orin_Nano", "Edge.Coral_Edge_TPU",
                  "Tiny.ESP32_S3", "Tiny.nRF52840", "Tiny.STM32H7"]
SPEC_MODELS = ["Language.GPT2", "Language.GPT3", "Language.Llama2_70B", "Language.Llama3_8B",
               "Language.Llama3_70B", "Language.BERT_Large", "Vision.ResNet50",
               "Vision.MobileNetV2", "GPT3", "ResNet50", "Llama3_8B", "Llama3_70B"]
ISSUE_MODELS = ["Language.Llama2_7B", "Language.Llama2_13B", "Language.Llama3_405B",
                "Language.Mixtral_8x7B", "Language.BERT_Base", "Language.GPTJ_6B",
                "Vision.ViT_B16", "Vision.EfficientNet_B0", "Tiny.DS_CNN",
                "Tiny.MobileNetV1_025", "Recommendation.DLRM"]


def _resolve(root, dotted):
    obj = root
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


@pytest.mark.parametrize("path", SPEC_HARDWARE + ISSUE_HARDWARE)
def test_hardware_paths_resolve(path):
    hw = _resolve(H, path)
    assert hw.key and hw.name and hw.compute.peak_flops.to("TFLOP/s").magnitude > 0


@pytest.mark.parametrize("path", SPEC_MODELS + ISSUE_MODELS)
def test_model_paths_resolve(path):
    m = _resolve(M, path)
    assert m.parameters.to("Gparam").magnitude > 0


def test_grouped_and_flat_paths_are_the_same_object():
    assert H.Cloud.H100 is H.H100
    assert M.Language.Llama3_8B is M.Llama3_8B


def test_lookup_by_string_is_case_and_punctuation_insensitive():
    assert H.get("h100") is H.H100
    assert H["H100"] is H.H100
    assert M.get("llama3-8b") is M.Llama3_8B
    assert "H100" in H and "Nonexistent9000" not in H


def test_unknown_name_suggests_close_matches():
    with pytest.raises(UnknownNameError, match="did you mean 'Llama3_8B'"):
        M.get("Llama3_8")
    with pytest.raises(AttributeError, match="did you mean"):
        _ = M.Language.Lama3_70B


def test_unknown_name_in_wrong_group_still_explains():
    with pytest.raises(UnknownNameError, match=r"unknown hardware in Hardware\.Tiny 'H100'"):
        _ = H.Tiny.H100


def test_groups_partition_the_catalog():
    total = sum(len(ns) for ns in H.groups.values())
    assert total == len(H)
    assert all(hw.tier == "edge" for hw in H.Edge)


def test_tab_completion_lists_entries():
    names = dir(H.Cloud)
    assert "H100" in names and "all" in names
    assert {"Cloud", "Tiny"} <= set(dir(H))


def test_filter():
    assert H.filter(tier="tiny") == H.Tiny.all()
    assert all(m.kind == "transformer" for m in M.filter(lambda m: m.kind == "transformer"))


def test_import_is_lazy():
    """`import mlsysim` must not build the unit registry or read the catalog."""
    code = ("import sys, mlsysim; assert 'pint' not in sys.modules, 'pint imported'; "
            "assert 'pydantic' not in sys.modules, 'pydantic imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_an_entry_loaded_alone_is_the_one_the_full_catalog_returns():
    """Hardware.get("H100") reads one file; the full load later hands out the same object,
    and the case-insensitive and alias lookups still work."""
    from mlsysim.catalog import _load_hardware
    from mlsysim.registry import Registry

    reg = Registry("Hardware", "hardware", _load_hardware, {},
                   one=mlsysim.catalog._one_hardware)
    early = reg.get("H100")
    assert reg._cache is None  # nothing else was read
    assert reg.get("h100") is early and reg.H100 is early
    same = [h for h in reg.all() if h.key == "H100"]
    assert len(same) == 1 and same[0] is early
