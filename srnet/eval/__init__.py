"""Evaluation: DAVIS metrics (J, F), model-free baselines, and the runner behind `python -m srnet
eval`, which drives SRNet through the public Predictor API."""
