"""Device and precision choices that only a GPU would exercise, checked on the CPU by standing in
for what torch reports about the card."""

from __future__ import annotations

import pytest
import torch

from srnet.config import InferenceConfig
from srnet.inference import device


@pytest.mark.filterwarnings("ignore:CUDA is not available:UserWarning")  # no GPU here
@pytest.mark.parametrize(("native", "expected"), [(True, torch.bfloat16), (False, torch.float16)])
def test_half_precision_is_bf16_only_where_the_gpu_computes_it(monkeypatch, native, expected):
    """A T4 or V100 emulates bf16 (torch says "supported" unless asked about emulation), which
    runs without tensor cores: those cards get fp16."""
    def is_bf16_supported(including_emulation: bool = True) -> bool:
        return including_emulation or native

    monkeypatch.setattr(torch.cuda, "is_bf16_supported", is_bf16_supported)
    assert device.cuda_half_dtype() == expected
    context = device.autocast_for(torch.device("cuda"), InferenceConfig(amp=True))
    assert context.fast_dtype == expected
    pinned = device.autocast_for(torch.device("cuda"),
                                 InferenceConfig(amp=True, amp_dtype="bfloat16"))
    assert pinned.fast_dtype == torch.bfloat16  # an explicit choice is kept


def test_no_autocast_on_the_cpu_unless_asked() -> None:
    plain = device.autocast_for(torch.device("cpu"), InferenceConfig())
    assert not isinstance(plain, torch.autocast)
    asked = device.autocast_for(torch.device("cpu"), InferenceConfig(cpu_bf16=True))
    assert isinstance(asked, torch.autocast) and asked.fast_dtype == torch.bfloat16
