"""Checkable answers: declared next to their computation, recorded, graded with a reason."""

import math

import pytest

import mlsysim
from mlsysim.classroom import Answer, check, make_answer, recording
from mlsysim.units import Q_


def test_declarations_display_nothing_and_are_recorded_only_while_recording():
    assert mlsysim.answer("x", 1.0) is None  # no recorder: a no-op, as under real Quarto
    with recording() as outer:
        mlsysim.answer("latency", Q_(4.8, "ms"), rtol=0.05)
        with recording() as inner:
            mlsysim.answer("bottleneck", mlsysim.Engine.solve("Llama3_8B", "H100").bottleneck)
        mlsysim.answer("fits", {"H200", "B200"})
        mlsysim.answer_free_text("why")
    assert [a.name for a in outer] == ["latency", "bottleneck", "fits", "why"]
    assert [a.name for a in inner] == ["bottleneck"]
    latency, bottleneck, fits, why = outer
    assert (latency.kind, latency.value, latency.unit, latency.rtol) == ("number", 4.8, "ms",
                                                                          0.05)
    assert (bottleneck.kind, bottleneck.value) == ("choice", "Memory")
    assert (fits.kind, fits.value) == ("set", ["B200", "H200"])
    assert why.kind == "free-text"
    assert Answer.from_dict(latency.to_dict()) == latency


@pytest.mark.parametrize("submitted, ok", [
    (Q_(4.9, "ms"), True), (Q_(4.9e-3, "s"), True), (4.9, True), ("4.9 ms", True),
    (Q_(5.2, "ms"), False), (5.2, False), (Q_(4.9, "GB"), False), ("fast", False),
    (None, False), (float("nan"), False),
])
def test_numbers_are_checked_in_the_answers_unit_within_its_tolerance(submitted, ok):
    verdict = check(make_answer("latency", Q_(4.8, "ms"), rtol=0.05), submitted)
    assert verdict.correct is ok and verdict.message.startswith("latency:")


@pytest.mark.parametrize("submitted, says", [
    (3.0, "ratio: 3 is too high (allowed: within ±10%)"),
    (1.5, "ratio: 1.5 is too low (allowed: within ±10%)"),
    (5.0, "ratio: 5 is too high by more than 2× (allowed: within ±10%)"),
    (0.9, "ratio: 0.9 is too low by more than 2× (allowed: within ±10%)"),
    (-2.0, "ratio: -2 has the wrong sign (allowed: within ±10%)"),
])
def test_wrong_numbers_say_which_side_without_giving_the_answer_away(submitted, says):
    verdict = check(make_answer("ratio", 2.0, rtol=0.1), submitted)
    assert not verdict.correct and verdict.message == says
    assert check(make_answer("zero", 0.0, atol=0.01), 0.005).correct
    assert check(make_answer("count", 217, rtol=0), 12).message == \
        "count: 12 is too low by more than 2× (an exact answer is expected)"


@pytest.mark.parametrize("expected, submitted, ok", [
    ("Memory", "memory", True), ("Memory", "Compute", False), (True, True, True),
    (True, "yes", True), (False, True, False), ({"A", "B"}, ["B", "A"], True),
    ({"A", "B"}, {"A"}, False), ({"A"}, 3, False),
])
def test_choices_and_sets(expected, submitted, ok):
    assert check(make_answer("x", expected), submitted).correct is ok


@pytest.mark.parametrize("name, value, kwargs", [
    ("not an identifier", 1.0, {}), ("x", math.inf, {}), ("x", [1, 2], {}),
    ("x", 1.0, {"rtol": 1.5}), ("x", 1.0, {"atol": -1}), (3, 1.0, {}),
])
def test_bad_declarations_are_clear_errors(name, value, kwargs):
    with pytest.raises(ValueError):
        make_answer(name, value, **kwargs)


def test_a_prediction_is_a_number_with_its_prompt():
    with recording() as got:
        mlsysim.prediction("decode_latency", Q_(6.8, "ms"), prompt="One decode step")
    (p,) = got
    assert (p.kind, p.value, p.unit, p.meta) == ("number", 6.8, "ms",
                                                  {"prediction": True, "prompt": "One decode step"})
    for bad in (dict(value="Memory", prompt="x"), dict(value=1.0, prompt=" ")):
        with pytest.raises(ValueError):
            mlsysim.prediction("p", **bad)


def test_the_page_element_round_trips_and_cannot_close_its_script_early():
    import json
    import re

    from mlsysim.classroom import script_of

    declared = make_answer("x", "</script><script>alert(1)</script>")
    html = script_of(declared)
    assert html.count("</script>") == 1 and html.endswith("</script>")
    body = re.fullmatch(r'<script type="application/json" class="mlsysim-answer">(.*)</script>',
                        html).group(1)
    assert Answer.from_dict(json.loads(body)) == declared


def test_in_a_kernel_a_declaration_is_one_invisible_html_output():
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import mlsysim\nmlsysim.answer('ratio', 2.5, rtol=0.1)\nprint('done')")])
    NotebookClient(nb, kernel_name="python3", timeout=120).execute()
    outputs = nb.cells[0].outputs
    html = [o for o in outputs if o.output_type == "display_data"]
    assert len(html) == 1 and 'class="mlsysim-answer"' in html[0].data["text/html"]
    assert html[0].data["text/plain"] == ""
    assert any(o.output_type == "stream" and o.text == "done\n" for o in outputs)
