"""DDP on the CPU: two gloo processes (torch.multiprocessing.spawn) train the tiny config for a few
steps on different clips and must end with identical parameters, different from the start."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp
from test_train_loop import make_davis

from srnet.config import ModelConfig
from srnet.model import SRNet
from srnet.train.config import TrainConfig

WORLD_SIZE = 2


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _worker(rank: int, root: str, tmp: str, port: int) -> None:
    os.environ.update({"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "RANK": str(rank),
                       "LOCAL_RANK": str(rank), "WORLD_SIZE": str(WORLD_SIZE)})
    from srnet.train.trainer import train

    cfg = TrainConfig(out_dir=f"{tmp}/run", steps=3, batch_size=1, crop=64,
                      cache_dir=f"{tmp}/cache", cache_scales=(64,), holdout=("hold",),
                      eval_every=0, log_every=1, ckpt_every=2, warmup_steps=1, lr=1e-3,
                      progress=False, device="cpu", threads=1)
    result = train(cfg, ModelConfig.tiny(), [root])
    torch.save({"step": result.step,
                "params": {k: v.detach().clone() for k, v in result.model.state_dict().items()}},
               f"{tmp}/rank{rank}.pt")


@pytest.mark.skipif(not torch.distributed.is_available(), reason="no torch.distributed")
def test_two_gloo_ranks_stay_in_sync(tmp_path: Path):
    root = make_davis(tmp_path / "davis")
    mp.spawn(_worker, args=(str(root), str(tmp_path), _free_port()), nprocs=WORLD_SIZE,
             join=True)
    ranks = [torch.load(tmp_path / f"rank{r}.pt") for r in range(WORLD_SIZE)]
    assert [r["step"] for r in ranks] == [3, 3]
    a, b = ranks[0]["params"], ranks[1]["params"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    # training moved the heads (rank 0 was seeded with the config's seed, 0)
    torch.manual_seed(0)
    fresh = SRNet(ModelConfig.tiny()).state_dict()
    heads = [k for k in a if not k.startswith("key_encoder.trunk") and a[k].is_floating_point()]
    assert any(not torch.equal(a[k], fresh[k]) for k in heads)
    # rank 0 alone wrote the run files, with both ranks' RNG and sampler states
    start = torch.load(tmp_path / "run" / "last.pt", weights_only=False)
    assert len(start["ranks"]) == WORLD_SIZE
    assert start["ranks"][0]["sampler"] != start["ranks"][1]["sampler"]
    assert (tmp_path / "run" / "final.pt").is_file()
    assert len((tmp_path / "run" / "log.jsonl").read_text().splitlines()) == 3
