"""Stage 1 of the shipped lite checkpoint: a fast single-object warm start of the SRNet-lite heads.

Written before `python -m srnet train` existed, to put the CPU to work early; kept so the shipped
checkpoint is reproducible. It is deliberately minimal: frames pre-resized to short side 384,
256x256 crops (random scale 0.75-1.25), horizontal flip, frame gaps 1-8, time reversal, frozen
EfficientNet-Lite0 trunk, AdamW lr 2e-4, CE on the soft-aggregated logits + 0.1 x PTM aux BCE.
Stage 2 (`python -m srnet train --init ...`) adds the spec's full augmentation and multi-object
pasting. Usage: python scripts/warmstart_lite.py --data DAVIS_ROOT --out runs/bootstrap
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from srnet import ModelConfig, SRNet, load_model, save_checkpoint  # noqa: E402
from srnet.data.davis import VOSDataset, train_val_split  # noqa: E402
from srnet.model.backbones import load_backbone_weights  # noqa: E402

log = logging.getLogger("warmstart")
SHORT, CROP, BATCH = 384, 256, 4


def load_sequences(root: Path) -> dict[str, tuple[list[np.ndarray], list[np.ndarray]]]:
    dataset = VOSDataset(root)
    train, _ = train_val_split(dataset.sequences)
    data = {}
    for seq in train:
        frames, masks = [], []
        for idx in range(len(dataset.frames(seq))):
            image, mask = dataset.load_frame(seq, idx), dataset.load_mask(seq, idx)
            scale = SHORT / min(image.shape[:2])
            size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
            frames.append(cv2.resize(image, size, interpolation=cv2.INTER_AREA))
            masks.append((cv2.resize(mask, size, interpolation=cv2.INTER_NEAREST) > 0)
                         .astype(np.uint8))
        data[seq] = (frames, masks)
    return data


def sample(data, rng: random.Random) -> tuple[np.ndarray, np.ndarray]:
    """One 3-frame clip: [3, CROP, CROP, 3] uint8 frames and [3, CROP, CROP] binary masks."""
    while True:
        frames, masks = data[rng.choice(sorted(data))]
        skip = rng.randint(1, 8)
        first = rng.randint(0, max(0, len(frames) - 1 - 2 * skip))
        order = [min(first + k * skip, len(frames) - 1) for k in range(3)]
        order = order[::-1] if rng.random() < 0.5 else order
        height, width = frames[0].shape[:2]
        side = int(CROP * rng.uniform(0.75, 1.25))
        crop_h, crop_w = min(height, side), min(width, side)
        top, left = rng.randint(0, height - crop_h), rng.randint(0, width - crop_w)
        if masks[order[0]][top:top + crop_h, left:left + crop_w].mean() < 0.02:
            continue  # the object must be visible in the annotated frame
        step = -1 if rng.random() < 0.5 else 1
        images, labels = [], []
        for idx in order:
            image = frames[idx][top:top + crop_h, left:left + crop_w][:, ::step]
            label = masks[idx][top:top + crop_h, left:left + crop_w][:, ::step]
            images.append(cv2.resize(np.ascontiguousarray(image), (CROP, CROP)))
            labels.append(cv2.resize(np.ascontiguousarray(label), (CROP, CROP),
                                     interpolation=cv2.INTER_NEAREST))
        return np.stack(images), np.stack(labels)


def train(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    data, rng = load_sequences(args.data), random.Random(args.seed)
    model = SRNet(ModelConfig.lite())
    if args.init:
        model.load_state_dict(load_model(args.init)[0].state_dict())
    else:
        load_backbone_weights(model.key_encoder.trunk)
    trunk = model.key_encoder.trunk
    trunk.requires_grad_(False)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=2e-4, weight_decay=0.01)
    model.train()
    trunk.eval()  # frozen BatchNorm statistics
    start = time.time()
    for step in range(args.start_step, args.steps):
        images, labels = zip(*[sample(data, rng) for _ in range(BATCH)])
        frames = torch.from_numpy(np.stack(images)).permute(0, 1, 4, 2, 3).float() / 255
        masks = torch.from_numpy(np.stack(labels)).float()  # [B, 3, H, W]
        with torch.no_grad():
            feats = trunk.forward_features(frames.flatten(0, 1))  # each [B*3, C, H/s, W/s]
        feats = tuple(x.view(BATCH, 3, *x.shape[1:]) for x in feats)
        out = model(None, masks[:, :1], torch.ones(BATCH, 1, dtype=torch.bool), trunk_feats=feats)
        ce = F.cross_entropy(out.logits.flatten(0, 1), masks[:, 1:].long().flatten(0, 1))
        aux_logits = out.aux_logits[:, :, :, 0]  # [B, 2, L, h, w]
        small = F.adaptive_avg_pool2d(masks[:, 1:], aux_logits.shape[-2:])  # [B, 2, h, w]
        target = small[:, :, None].expand_as(aux_logits)  # [B, 2, L, h, w]
        aux = F.binary_cross_entropy_with_logits(aux_logits, target)
        loss = ce + 0.1 * aux
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 3.0)
        optimizer.step()
        if step % 20 == 0:
            log.info("step %d loss %.4f (%.2f s/step)", step, loss.item(),
                     (time.time() - start) / (step - args.start_step + 1))
        if step % 200 == 0 and step > args.start_step:
            meta = {"steps": step, "stage": "warmstart"}
            save_checkpoint(args.out / "model.pt", model, meta=meta)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path("runs/bootstrap"))
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--init", type=Path, default=None, help="continue from a checkpoint")
    parser.add_argument("--start-step", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    train(parser.parse_args())
