"""`python -m srnet eval`: SRNet and both baselines in one run on a DAVIS-layout folder."""


import numpy as np
from conftest import davis_folder
from PIL import Image

from srnet import save_checkpoint
from srnet.__main__ import main
from srnet.eval.vos_eval import SequenceResult, format_table, mean_scores


def test_eval_prints_table_with_baselines_and_a_final_jf_line(tmp_path, tiny_model, capsys):
    root = davis_folder(tmp_path / "davis")
    ckpt = save_checkpoint(tmp_path / "tiny.pt", tiny_model)
    code = main(["eval", "--davis", str(root), "--seqs", "alpha,beta", "--checkpoint", str(ckpt),
                 "--out", str(tmp_path / "pred"), "--size", "64"])
    assert code == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert "srnet J&F" in lines[0] and "copy J&F" in lines[0] and "flow J&F" in lines[0]
    last = lines[-1].split()
    assert last[0] == "J&F" and last[2] == "J" and last[4] == "F"
    jf, j, f = float(last[1]), float(last[3]), float(last[5])
    assert 0 <= j <= 100 and 0 <= f <= 100 and abs(jf - (j + f) / 2) < 0.06
    assert len(list((tmp_path / "pred/srnet/alpha").glob("*.png"))) == 5
    assert len(list((tmp_path / "pred/flow/beta").glob("*.png"))) == 5


def test_eval_rejects_unknown_sequences_and_methods(tmp_path):
    root = davis_folder(tmp_path / "davis", seqs=("alpha",))
    assert main(["eval", "--davis", str(root), "--seqs", "nope", "--method", "copy"]) == 2
    assert main(["eval", "--davis", str(root), "--seqs", "alpha", "--method", "magic"]) == 2
    # --prescale is the demo's path for the instance benchmark only
    assert main(["eval", "--davis", str(root), "--seqs", "alpha", "--method", "copy",
                 "--prescale", "64"]) == 2
    assert main(["eval", "--davis", str(root), "--seqs", "alpha", "--method", "copy",
                 "--max-upscale", "0.5"]) == 2


def test_a_sequence_that_cannot_be_scored_is_named_and_the_others_still_are(
        tmp_path, capsys, caplog):
    """One unscorable sequence used to end the run with a traceback and no table: every score
    already computed was lost. Masks of another size were scored (the copy baseline: 100.0)."""
    root = davis_folder(tmp_path / "davis", seqs=("alpha", "beta", "gamma", "delta", "eps"))
    (root / "Annotations/480p/beta/00003.png").unlink()  # annotated on some frames only
    (root / "JPEGImages/480p/gamma/00001.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    Image.fromarray(np.zeros((32, 48), np.uint8)).save(root / "Annotations/480p/delta/00002.png")
    Image.fromarray(np.zeros((64, 96), np.uint8)).save(root / "Annotations/480p/eps/00000.png")
    code = main(["eval", "--davis", str(root), "--seqs", "alpha,beta,gamma,delta,eps",
                 "--method", "copy"])
    assert code == 1  # scripts see that the means are over fewer sequences
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].startswith("J&F ") and sum(line.startswith("alpha") for line in lines) == 1
    assert not any(line.startswith(("beta", "gamma", "delta", "eps")) for line in lines)
    errors = "\n".join(r.getMessage() for r in caplog.records if r.levelname == "ERROR")
    assert "beta [copy]: not scored: frame 3 of beta has no mask" in errors
    assert "gamma [copy]: not scored: cannot read frame" in errors
    assert "delta [copy]: not scored: the mask of frame 2 is 48x32 but the frame is 96x64" \
        in errors
    assert "eps [copy]: not scored: its first mask is empty" in errors
    assert "4 of 5 sequence(s) not scored" in errors and "srnet segment" in errors
    only_bad = main(["eval", "--davis", str(root), "--seqs", "beta,gamma", "--method", "copy"])
    assert only_bad == 2 and "J&F" not in capsys.readouterr().out


def test_copy_baseline_is_perfect_on_a_static_object(tmp_path, capsys):
    root = tmp_path / "davis"
    (root / "JPEGImages/480p/still").mkdir(parents=True)
    (root / "Annotations/480p/still").mkdir(parents=True)
    frame = np.full((32, 48, 3), 90, np.uint8)
    mask = np.zeros((32, 48), np.uint8)
    mask[8:20, 10:30] = 255
    for i in range(4):
        Image.fromarray(frame).save(root / f"JPEGImages/480p/still/{i:05d}.jpg")
        Image.fromarray(mask).save(root / f"Annotations/480p/still/{i:05d}.png")
    assert main(["eval", "--davis", str(root), "--seqs", "still", "--method", "copy"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == "J&F 100.0 J 100.0 F 100.0"


def test_frame_step_keeps_every_kth_frame_and_scores_them(tmp_path, capsys):
    """`--frame-step K` (fast-motion stress test): frames 0, K, 2K, ... are run and written under
    their own names, so the copy baseline sees K times the motion and scores lower; it is
    refused where it has no meaning (static-val, instances)."""
    root = tmp_path / "davis"
    (root / "JPEGImages/480p/slide").mkdir(parents=True)
    (root / "Annotations/480p/slide").mkdir(parents=True)
    for i in range(7):  # a square sliding 1 px per frame
        mask = np.zeros((40, 80), np.uint8)
        mask[10:30, i + 5:i + 25] = 255
        Image.fromarray(np.full((40, 80, 3), 90, np.uint8)).save(
            root / f"JPEGImages/480p/slide/{i:05d}.jpg")
        Image.fromarray(mask).save(root / f"Annotations/480p/slide/{i:05d}.png")
    scores = {}
    for step in (1, 3):
        out = tmp_path / f"pred{step}"
        assert main(["eval", "--davis", str(root), "--seqs", "slide", "--method", "copy",
                     "--frame-step", str(step), "--out", str(out)]) == 0
        scores[step] = float(capsys.readouterr().out.strip().splitlines()[-1].split()[1])
        names = sorted(p.name for p in (out / "copy/slide").glob("*.png"))
        assert names == [f"{i:05d}.png" for i in range(0, 7, step)]
    assert scores[3] < scores[1] - 3
    assert main(["eval", "--static-val", str(tmp_path), "--frame-step", "2"]) == 2
    assert main(["eval", "--davis", str(root), "--seqs", "slide", "--instances", str(tmp_path),
                 "--frame-step", "2"]) == 2


def test_table_means_and_fps():
    results = {"m": {"a": SequenceResult(0.8, 0.6, 10, 2.0),
                     "b": SequenceResult(0.4, 0.2, 30, 2.0)}}
    jf, j, f, fps = mean_scores(results["m"])
    assert (round(j, 3), round(f, 3), round(jf, 3), fps) == (0.6, 0.4, 0.5, 10.0)
    table = format_table(results)
    assert table[-4].split()[-1] == "50.0"
    # several objects: the means run over objects, as DAVIS-2017 defines them
    multi = {"a": SequenceResult(0.8, 0.6, 10, 2.0),
             "b": SequenceResult(0.3, 0.3, 10, 2.0, ((0.2, 0.1), (0.3, 0.3), (0.4, 0.5)))}
    jf, j, f, _ = mean_scores(multi)
    assert (round(j, 3), round(f, 3)) == (round((0.8 + 0.2 + 0.3 + 0.4) / 4, 3),
                                          round((0.6 + 0.1 + 0.3 + 0.5) / 4, 3))


def test_pasted_pairs_are_deterministic_two_object_clips(tmp_path):
    from srnet.data.davis import VOSDataset
    from srnet.eval.pasted import PastedPairs, pair_names

    root = davis_folder(tmp_path / "davis", seqs=("alpha", "beta", "gamma"), num_frames=6)
    names = pair_names(["alpha", "beta", "gamma"])
    assert names == ["alpha+beta", "beta+gamma", "gamma+alpha"]
    first, second = (PastedPairs(VOSDataset(root)) for _ in range(2))
    host = VOSDataset(root)
    for t in range(6):
        mask = first.load_mask("alpha+beta", t)
        assert set(np.unique(mask)) <= {0, 1, 2} and (mask == 2).any()
        assert np.array_equal(first.load_frame("alpha+beta", t),
                              second.load_frame("alpha+beta", t))  # seeded by the pair name
        host_mask = host.load_mask("alpha", t) > 0
        assert not (mask == 1)[~host_mask].any()  # object 1 is the host's, occluded by the donor
    assert len(first.frames("alpha+beta")) == 6


def test_eval_paste_scores_two_objects(tmp_path, capsys):
    root = davis_folder(tmp_path / "davis", seqs=("alpha", "beta"), num_frames=5)
    code = main(["eval", "--davis", str(root), "--seqs", "alpha,beta", "--paste", "--method",
                 "copy", "--out", str(tmp_path / "pred")])
    assert code == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert any(line.startswith("alpha+beta") for line in lines)
    written = np.asarray(Image.open(tmp_path / "pred/copy/alpha+beta/00000.png"))
    assert set(np.unique(written)) == {0, 1, 2}  # frame 0 = the two-object ground truth


def test_eval_ablate_switches_the_module_off(tmp_path, tiny_model, capsys, monkeypatch):
    """`--ablate fam|ptm` evaluates the same weights with that module removed: the predictor
    handed to the runner has no such module and every other weight is the trained one;
    `--ablate memory` keeps every module and freezes the long-term memory."""
    import torch

    from srnet.eval import vos_eval

    root = davis_folder(tmp_path / "davis", seqs=("alpha",))
    ckpt = save_checkpoint(tmp_path / "tiny.pt", tiny_model)
    seen = []
    real = vos_eval.srnet_method
    monkeypatch.setattr(vos_eval, "srnet_method", lambda p: seen.append(p) or real(p))
    for module in ("fam", "ptm", "memory"):
        code = main(["eval", "--davis", str(root), "--seqs", "alpha", "--checkpoint", str(ckpt),
                     "--method", "srnet", "--size", "64", "--ablate", module])
        assert code == 0
        assert capsys.readouterr().out.strip().splitlines()[-1].startswith("J&F ")
    fam_off, ptm_off, frozen = (p.model for p in seen)
    assert fam_off.fam is None and fam_off.ptm is not None
    assert ptm_off.ptm is None and ptm_off.fam is not None
    assert frozen.fam is not None and frozen.ptm is not None
    assert [p.config.working_memory for p in seen] == [True, True, False]
    from srnet import InferenceConfig, load_predictor

    full = load_predictor(ckpt, device="cpu", config=InferenceConfig(short_side=64))[0]
    full_state = full.model.state_dict()  # BatchNorm already folded, like the ablated copies
    for name, value in ptm_off.state_dict().items():
        assert torch.equal(value.cpu(), full_state[name].cpu()), name
    assert any(k.startswith("ptm.") for k in full_state)


def test_eval_ablate_rejects_unknown_modules(tmp_path):
    import pytest

    root = davis_folder(tmp_path / "davis", seqs=("alpha",))
    with pytest.raises(SystemExit):
        main(["eval", "--davis", str(root), "--seqs", "alpha", "--ablate", "decoder"])


def test_split_holdout_follows_the_checkpoints_own_holdout(tmp_path, tiny_model, capsys):
    """A run trained with a custom --holdout is scored on the sequences it never trained on:
    `--split holdout` reads the holdout saved in the checkpoint's meta."""
    root = davis_folder(tmp_path / "davis", seqs=("alpha", "beta", "bear"))
    custom = save_checkpoint(tmp_path / "custom.pt", tiny_model,
                             meta={"train": {"holdout": ["beta"]}})
    assert main(["eval", "--davis", str(root), "--split", "holdout", "--checkpoint", str(custom),
                 "--method", "srnet", "--size", "64"]) == 0
    table = capsys.readouterr().out
    assert "beta" in table and "alpha" not in table and "bear" not in table
    plain = save_checkpoint(tmp_path / "plain.pt", tiny_model)  # no saved holdout: the default
    assert main(["eval", "--davis", str(root), "--split", "holdout", "--checkpoint", str(plain),
                 "--method", "srnet", "--size", "64"]) == 0
    table = capsys.readouterr().out
    assert "bear" in table and "beta" not in table
