"""Choosing the backend: the default, the fallback when a runtime is missing (simulated
ImportError), CUDA and bf16 always on torch, and the CLI's one-line errors for `--backend`."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from srnet import InferenceConfig, Predictor, load_model
from srnet.__main__ import main
from srnet.inference.backends import BackendError, default_backend, resolve_backend

CPU, CUDA = torch.device("cpu"), torch.device("cuda")
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture()
def no_runtimes(monkeypatch):
    """Make `import onnxruntime` and `import openvino` raise ImportError, as when missing."""
    for name in ("onnxruntime", "openvino"):
        monkeypatch.setitem(sys.modules, name, None)


def test_auto_is_torch_without_a_runtime(no_runtimes, tiny_model, monkeypatch):
    monkeypatch.setattr("srnet.inference.backends.AUTO_ORDER", ("onnxruntime", "openvino"))
    assert default_backend(CPU) == "torch"
    predictor = Predictor(tiny_model, None, "cpu", "auto")
    assert predictor.backend == "torch" and predictor.stages is tiny_model


def test_explicit_missing_runtime_says_how_to_install(no_runtimes, tiny_model):
    with pytest.raises(BackendError, match="pip install onnxruntime"):
        Predictor(tiny_model, None, "cpu", "onnxruntime")


def test_auto_is_torch_until_a_runtime_measures_faster():
    pytest.importorskip("onnxruntime")
    assert resolve_backend("auto", CPU) == "torch"  # AUTO_ORDER is empty: see backends.py


def test_auto_picks_an_installed_runtime_on_cpu_only(tiny_model, monkeypatch):
    pytest.importorskip("onnxruntime")
    monkeypatch.setattr("srnet.inference.backends.AUTO_ORDER", ("openvino_missing",
                                                                "onnxruntime"))
    monkeypatch.setitem(sys.modules, "openvino_missing", None)
    assert resolve_backend("auto", CPU) == "onnxruntime"
    assert resolve_backend("auto", CUDA) == "torch"  # CUDA always runs torch
    assert resolve_backend("auto", CPU, cpu_bf16=True) == "torch"  # graphs are fp32
    # the unit-test network is not worth a ~25 s export; an explicit request still gets it
    assert Predictor(tiny_model, None, "cpu", "auto").backend == "torch"
    assert Predictor(tiny_model, None, "cpu", "onnxruntime").backend == "onnxruntime"


@pytest.mark.parametrize("name,device,bf16,says", [
    ("onnxruntime", CUDA, False, "CPU only"),
    ("openvino", CUDA, False, "CPU only"),
    ("onnxruntime", CPU, True, "cpu_bf16"),
    ("tensorrt", CPU, False, "unknown backend"),
])
def test_impossible_requests_raise(name, device, bf16, says):
    pytest.importorskip("onnxruntime")
    with pytest.raises(BackendError, match=says):
        resolve_backend(name, device, bf16)


def test_library_default_is_torch_unless_the_environment_says(monkeypatch, tiny_model):
    """Predictors built without a backend (training's validation, the app) stay on torch: an
    export per changed checkpoint would be wasted there. $SRNET_BACKEND opts in (e.g. eval)."""
    monkeypatch.delenv("SRNET_BACKEND", raising=False)
    assert Predictor(tiny_model, None, "cpu").backend == "torch"
    monkeypatch.setenv("SRNET_BACKEND", "auto")
    assert resolve_backend(None, CPU) == default_backend(CPU)


def test_compiled_stages_keep_the_network_stateless(tiny_model):
    pytest.importorskip("onnxruntime")
    before = {k: v.clone() for k, v in tiny_model.state_dict().items()}
    predictor = Predictor(tiny_model, InferenceConfig(short_side=None), "cpu", "onnxruntime")
    assert predictor.model is tiny_model and predictor.stages is not tiny_model
    assert not hasattr(tiny_model, "_runners")
    assert all(torch.equal(before[k], v) for k, v in tiny_model.state_dict().items())


def test_a_graph_that_fails_to_export_runs_in_torch(tmp_path, monkeypatch, caplog):
    pytest.importorskip("onnxruntime")
    monkeypatch.setenv("SRNET_CACHE_DIR", str(tmp_path))

    def broken(*args, **kwargs):
        raise RuntimeError("unsupported operator aten::made_up")

    monkeypatch.setattr("srnet.inference.onnx_backend.export_graph", broken)
    model, _ = load_model(REPO / "assets" / "srnet_lite.pt")
    predictor = Predictor(model, InferenceConfig(short_side=64), "cpu", "onnxruntime")
    image = torch.rand(1, 3, 64, 112)
    with caplog.at_level(logging.WARNING):
        feats = predictor.stages.encode_frame(image)
        predictor.stages.encode_frame(image)  # the failure is remembered, not retried
    torch.testing.assert_close(feats.key, model.encode_frame(image).key, atol=0, rtol=0)
    failures = [r for r in caplog.records if "made_up" in r.getMessage()]
    assert len(failures) == 1 and "running it in torch" in failures[0].getMessage()


# ----------------------------------------------------------------------------- CLI
def _run(argv: list[str], capsys) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_cli_rejects_an_unknown_backend(capsys):
    code, _, err = _run(["bench", "--backend", "tensorrt"], capsys)
    line = _one_line(err)
    assert code == 2 and "argument --backend: " in line and "auto, torch, onnxruntime" in line


def test_cli_names_a_missing_runtime(no_runtimes, capsys):
    code, _, err = _run(["bench", "--backend", "onnxruntime"], capsys)
    line = _one_line(err)
    assert code == 2 and "argument --backend: " in line and "pip install onnxruntime" in line


def test_cli_rejects_compiled_with_bf16(capsys, monkeypatch):
    pytest.importorskip("onnxruntime")
    monkeypatch.setattr("srnet.inference.predictor.cpu_has_fast_bf16", lambda: True)
    code, _, err = _run(["bench", "--device", "cpu", "--backend", "onnxruntime", "--cpu-bf16",
                         "--frames", "1"], capsys)
    line = _one_line(err)
    assert code == 2 and "argument --backend: " in line and "cpu_bf16" in line


def test_bench_reports_the_backend_it_ran(capsys, no_runtimes):
    code, out, _ = _run(["bench", "--config", "tiny", "--size", "64x96", "--frames", "2",
                         "--device", "cpu"], capsys)
    assert code == 0 and "backend torch" in out  # the default (auto is torch too)


def test_segment_takes_the_backend(tmp_path, capsys):
    pytest.importorskip("onnxruntime")
    frames = tmp_path / "frames"
    frames.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 255, (64, 96, 3), np.uint8)).save(frames / f"{i:05d}.png")
    mask = np.zeros((64, 96), np.uint8)
    mask[16:40, 20:50] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    code, _, err = _run(["segment", "--frames", str(frames), "--mask", str(tmp_path / "mask.png"),
                         "--out", str(tmp_path / "out"), "--no-video", "--device", "cpu",
                         "--backend", "torch"], capsys)
    assert code == 0, err
    assert len(list((tmp_path / "out").glob("*.png"))) == 3


def test_backend_flag_is_listed(capsys):
    with pytest.raises(SystemExit):
        main(["segment", "--help"])
    assert "--backend {auto,torch,onnxruntime,openvino}" in capsys.readouterr().out
