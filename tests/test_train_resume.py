"""What a run folder allows (srnet/train/resume.py, session 34): a resume only under the run's
own settings, a damaged last.pt or a cut log line named, one writer at a time, a fresh start
that keeps the old files, an evaluation failure that does not end the run, and atomic saves
that never share a temporary file. Both trainers (SRNet and the click model)."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from test_click_cli import _tiny_static_set
from test_train_loop import _cfg, make_davis

from srnet.checkpoint import save_atomic
from srnet.config import ModelConfig
from srnet.train.resume import ResumeError, run_folder_lock

REPO = Path(__file__).resolve().parents[1]


def _stopped_run(tmp_path: Path, **kw):
    """A tiny SRNet run stopped at step 2 of 4 (last.pt saved), and its config."""
    from srnet.train.trainer import train

    root = make_davis(tmp_path / "davis")
    cfg = _cfg(tmp_path, run_steps=2, ckpt_every=100, **kw)
    assert train(cfg, ModelConfig.tiny(), [root]).step == 2
    return root, replace(cfg, run_steps=None)


def test_a_resume_under_other_settings_is_refused_and_run_control_may_change(tmp_path,
                                                                           monkeypatch):
    """A new --lr was silently ignored (the scheduler restores the old base rates) while the
    run's files recorded it; a new seed or batch size mixed two runs."""
    from srnet.train.trainer import train

    root, cfg = _stopped_run(tmp_path)
    for change in ({"lr": 5e-3}, {"seed": 7}, {"batch_size": 3}, {"crop": 48}):
        with pytest.raises(ResumeError, match=f"{next(iter(change))}: "):
            train(replace(cfg, **change), ModelConfig.tiny(), [root])
    with pytest.raises(ResumeError, match="data: "):  # another data root, same folder name
        train(cfg, ModelConfig.tiny(), [make_davis(tmp_path / "other" / "davis")])
    with pytest.raises(ResumeError, match="init: None → .*only input locations may move"):
        train(replace(cfg, init=str(tmp_path / "x.pt"), resume_changed=True),
              ModelConfig.tiny(), [root])  # a location may move, not appear
    monkeypatch.chdir(tmp_path)  # the same folder named relatively is no change
    assert train(replace(cfg, run_steps=1), ModelConfig.tiny(), [Path("davis")]).step == 3
    moved = tmp_path / "moved" / "davis"
    moved.parent.mkdir()
    root.rename(moved)
    done = train(replace(cfg, resume_changed=True, threads=2, log_every=2), ModelConfig.tiny(),
                 [moved])  # the data moved: accepted with --resume-changed
    assert done.step == 4


def test_raising_steps_after_the_end_is_refused(tmp_path):
    """The schedule is a function of --steps: 4 → 8 after the end jumped the learning rate
    from its floor back to near its peak, with no warm-up."""
    from srnet.train.trainer import train

    root, cfg = _stopped_run(tmp_path)
    assert train(cfg, ModelConfig.tiny(), [root]).step == 4
    with pytest.raises(ResumeError, match="finished its 4 steps.*--init"):
        train(replace(cfg, steps=8), ModelConfig.tiny(), [root])
    other_root, stopped = _stopped_run(tmp_path / "b")
    with pytest.raises(ResumeError, match=r"settings \(steps: 4 → 8\)"):  # midway: a change too
        train(replace(stopped, steps=8), ModelConfig.tiny(), [other_root])


@pytest.mark.parametrize("damage", ["overwrite", "truncate"])
def test_a_damaged_last_pt_is_named_not_resumed(tmp_path, damage):
    """With 4 KiB overwritten the run resumed from garbage weights; a truncated file gave
    torch's traceback."""
    from srnet.train.trainer import train

    root, cfg = _stopped_run(tmp_path)
    last = Path(cfg.out_dir) / "last.pt"
    data = bytearray(last.read_bytes())
    if damage == "overwrite":
        data[len(data) // 2:len(data) // 2 + 4096] = bytes(4096)
    else:
        del data[len(data) // 2:]
    last.write_bytes(bytes(data))
    with pytest.raises(ResumeError, match="corrupt.*--no-resume"):
        train(cfg, ModelConfig.tiny(), [root])


def test_a_log_line_cut_by_a_crash_does_not_block_the_resume(tmp_path):
    from srnet.train.trainer import train

    root, cfg = _stopped_run(tmp_path)
    log_path = Path(cfg.out_dir) / "log.jsonl"
    log_path.write_text(log_path.read_text() + '{"step": 3, "loss": 0.3')
    assert train(cfg, ModelConfig.tiny(), [root]).step == 4
    steps = [json.loads(line)["step"] for line in log_path.read_text().splitlines()]
    assert steps == [1, 2, 3, 4]


def test_no_resume_keeps_the_old_run_aside(tmp_path):
    """--no-resume left last.pt in place until the first save: a crash before it, and the next
    plain re-run resumed the old run."""
    from srnet.train.trainer import train

    root, cfg = _stopped_run(tmp_path)
    old = (Path(cfg.out_dir) / "last.pt").read_bytes()
    assert train(replace(cfg, resume=False, run_steps=1), ModelConfig.tiny(), [root]).step == 1
    aside = list(Path(cfg.out_dir).glob("replaced-*"))
    assert len(aside) == 1 and (aside[0] / "last.pt").read_bytes() == old
    assert (aside[0] / "log.jsonl").is_file()


def test_a_second_trainer_on_the_same_folder_is_refused(tmp_path):
    """It would resume the first's state, cut its log and overwrite its last.pt."""
    from srnet.train.trainer import train

    root = make_davis(tmp_path / "davis")
    cfg = _cfg(tmp_path)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; sys.path.insert(0, '.');"
         "from srnet.train.resume import run_folder_lock as lock\n"
         f"with lock(__import__('pathlib').Path({cfg.out_dir!r})):\n"
         "    print('held', flush=True); time.sleep(60)"],
        cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(ResumeError, match="another training is writing"):
            train(cfg, ModelConfig.tiny(), [root])
    finally:
        holder.kill()
        holder.wait()
    with run_folder_lock(Path(cfg.out_dir)):  # free again once its holder is gone
        pass


def test_a_failing_evaluation_does_not_end_the_run(tmp_path, monkeypatch, caplog):
    from srnet.train import trainer

    def broken(*args, **kwargs):
        raise RuntimeError("evaluator broke")

    monkeypatch.setattr(trainer, "evaluate_holdout", broken)
    root = make_davis(tmp_path / "davis")
    cfg = _cfg(tmp_path, eval_every=1, eval_size=64, eval_frames=4)
    assert trainer.train(cfg, ModelConfig.tiny(), [root]).step == 4
    assert (Path(cfg.out_dir) / "final.pt").is_file()
    assert "holdout evaluation failed at step 1" in caplog.text


def test_the_evaluator_is_imported_when_the_trainer_is():
    """Imported at the first evaluation, it read the source on disk by then (session 33)."""
    code = ("import sys; import srnet.train.trainer; "
            "print('srnet.eval.vos_eval' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert done.stdout.strip() == "True", done.stderr[-1000:]


def test_an_atomic_save_that_fails_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = save_atomic({"step": 1}, tmp_path / "last.pt")

    def failing_save(payload, handle):
        handle.write(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", failing_save)
    with pytest.raises(OSError, match="disk full"):
        save_atomic({"step": 2}, path)
    monkeypatch.undo()
    assert torch.load(path, weights_only=True)["step"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pt"]


def test_the_click_trainer_checks_its_resume_and_starts_repeatably(tmp_path, monkeypatch):
    """A new --lr was applied to a click run started with another; a damaged last.pt raised
    torch's error; two fresh runs started from different random heads."""
    from srnet.interactive import train as click_train

    static = _tiny_static_set(tmp_path)

    def config(out: str, **kw) -> click_train.ClickTrainConfig:
        settings = {"steps": 2, "save_every": 1, "eval_every": 100, "eval_objects": 1,
                    "crop": 64, **kw}
        return click_train.ClickTrainConfig(static_root=str(static.parent), davis_root=None,
                                            out=str(tmp_path / out), **settings)

    starts = []
    real_loop = click_train._loop
    monkeypatch.setattr(click_train, "_loop", lambda model, *a, **k: (
        starts.append({k: v.clone() for k, v in model.state_dict().items()}),
        real_loop(model, *a, **k)))
    click_train.train_clicks(config("a"))
    click_train.train_clicks(config("b"))
    assert all(torch.equal(starts[0][k], starts[1][k]) for k in starts[0])
    with pytest.raises(ResumeError, match="finished its 2 steps"):
        click_train.train_clicks(config("a", steps=4))
    with pytest.raises(ResumeError, match="lr: "):
        click_train.train_clicks(config("a", lr=5e-3))
    last = tmp_path / "a" / "last.pt"
    last.write_bytes(last.read_bytes()[: last.stat().st_size // 2])
    with pytest.raises(ResumeError, match="corrupt"):
        click_train.train_clicks(config("a"))
    click_train.train_clicks(config("a"), resume=False)  # the damaged run is set aside
    assert list((tmp_path / "a").glob("replaced-*/last.pt"))


def test_damaged_or_foreign_cache_files_are_rebuilt(tmp_path, caplog):
    """A damaged cache file was used with wrong features, a truncated one failed later in the
    prefetch thread, and a dataset of the same folder name with other frames reused another's
    features."""
    from test_train_loop import CoordTrunk, _refs

    from srnet.train.feature_cache import build_feature_cache

    def build(root: Path) -> dict:
        return build_feature_cache(CoordTrunk(), _refs(root), tmp_path / "cache", [64], "coord",
                                   torch.device("cpu"))

    paths = build(make_davis(tmp_path / "v1" / "davis"))
    alpha, beta = paths[("davis/alpha", 64)], paths[("davis/beta", 64)]
    whole = beta.read_bytes()
    beta.write_bytes(whole[: len(whole) // 2])
    caplog.set_level("WARNING")
    build(tmp_path / "v1" / "davis")
    assert beta.read_bytes() == whole and f"rebuilding {beta}" in caplog.text
    before = torch.load(alpha, weights_only=True)["masks"].shape[0]
    build(make_davis(tmp_path / "v2" / "davis", num_frames=4))  # same folder name "davis"
    assert (before, torch.load(alpha, weights_only=True)["masks"].shape[0]) == (6, 4)
    assert "another frame list (4 frames now)" in caplog.text
