"""Typed-in values outside a control's range are clamped, not rejected (demo/widgets.py)."""

from __future__ import annotations

import gradio as gr
import pytest
from gradio.exceptions import Error

from demo import numbers
from demo.widgets import ClampedNumber, ClampedSlider


def test_gradios_own_slider_rejects_what_the_clamped_one_takes() -> None:
    """The reason for the widget: Gradio raises before the handler runs (and the event's
    outputs all show "Error"); the clamped slider hands the handler the nearest frame."""
    with pytest.raises(Error):
        gr.Slider(0, 39, step=1).preprocess(60)
    frame = ClampedSlider(0, 39, step=1)
    assert frame.preprocess(60) == 39
    assert frame.preprocess(-3) == 0
    assert frame.preprocess(17) == 17


def test_clamped_number_keeps_its_minimum_and_none() -> None:
    step = ClampedNumber(1, precision=0, minimum=1)
    assert step.preprocess(0) == 1
    assert step.preprocess(-7) == 1
    assert step.preprocess(4.4) == 4
    assert step.preprocess(None) is None
    bounded = ClampedNumber(0, precision=0, minimum=0, maximum=300)
    assert bounded.preprocess(1000) == 300


def test_the_page_draws_them_with_gradios_own_components() -> None:
    """A new block name would need a frontend component that does not exist."""
    assert ClampedSlider(0, 5).get_block_name() == "slider"
    assert ClampedNumber(0).get_block_name() == "number"


def test_values_that_are_no_numbers_read_as_the_default_not_an_error() -> None:
    """An API client may send None, text, NaN or infinity: Gradio's own components raised a
    bare "Error" over every output of the event."""
    frame = ClampedSlider(0, 39, value=5, step=1)
    assert [frame.preprocess(v) for v in (None, "abc", float("nan"))] == [5, 5, 5]
    assert frame.preprocess("12") == 12 and frame.preprocess(float("inf")) == 39
    unbounded = ClampedNumber(0, precision=0, minimum=0)
    assert unbounded.preprocess(float("inf")) is None and unbounded.preprocess("x") is None
    assert unbounded.preprocess(float("nan")) is None


def test_numbers_read_what_a_client_sends_one_way() -> None:
    """The helpers every handler reads numbers through: infinity goes to its bound when
    clamping, is no number for `finite`, and a setting refuses fractions and infinities."""
    assert numbers.clamped(float("inf"), 0, 9, 4) == 9 and numbers.clamped("-inf", 0, None, 4) == 0
    assert numbers.clamped(float("inf"), 0, None, 4) == 4  # no bound on that side
    assert numbers.clamped("2.5", 0, 9, None) == 2.5 and numbers.clamped("x", 0, 9, None) is None
    assert numbers.finite(float("inf")) is None and numbers.finite("7") == 7.0
    assert numbers.whole_in("30", 0, 300, "steps") == 30 and numbers.whole_in(4.0, 0, 9, "k") == 4
    for bad in (2.5, -1, 301, float("nan"), float("inf"), None, "x"):
        with pytest.raises(ValueError, match="steps must be a whole number from 0 to 300"):
            numbers.whole_in(bad, 0, 300, "steps")
