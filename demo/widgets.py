"""Number inputs that take an out-of-range value as its nearest valid one.

Gradio's Slider and Number reject a value outside their range with an `Error` raised before the
handler runs. The page then shows "Error" over every output of that event, and the event's
action is lost: typing 60 into the frame box of a 40-frame clip blanked the frame view, the
status and the object list, and the click that followed was dropped, because every handler
reads the frame. A user who types 60 means "the last frame"; these components clamp instead.
The browser keeps the typed digits in the box until its next update, so the status line
(`Frame 39 / 39`) is where the clamped value shows.

Importing this module makes Gradio write `demo/widgets.pyi` (a type stub it writes beside every
component subclass; git-ignored, and skipped without complaint where the folder is read-only)."""

from __future__ import annotations

import gradio as gr

from demo.numbers import clamped


class ClampedSlider(gr.Slider):
    """A gr.Slider whose typed-in value is clamped to [minimum, maximum]; a value that is no
    number reads as the slider's initial value."""

    is_template = True  # the page draws it with Gradio's own slider

    def preprocess(self, payload: float) -> float:
        initial = self.value if isinstance(self.value, int | float) else self.minimum
        return super().preprocess(clamped(payload, self.minimum, self.maximum, initial))


class ClampedNumber(gr.Number):
    """A gr.Number whose typed-in value is clamped to [minimum, maximum]; a value that is no
    number reads as blank (None)."""

    is_template = True  # the page draws it with Gradio's own number box

    def preprocess(self, payload: float | None) -> float | int | None:
        value = clamped(payload, self.minimum, self.maximum, None)
        return None if value is None else super().preprocess(value)
