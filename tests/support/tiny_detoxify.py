"""The tiny Detoxify checkpoint the scoring tests load: built with bench's Detoxify-format builder.

Tests may import bench/; nothing under bench/ imports tests/.
"""
from __future__ import annotations

import os

from bench.detoxify_checkpoint import ORIGINAL_LABELS, UNBIASED_LABELS, build_checkpoint

__all__ = ["ORIGINAL_LABELS", "UNBIASED_LABELS", "build_checkpoint", "build_tiny_checkpoint"]


def build_tiny_checkpoint(directory: str | os.PathLike, *, head_scale: float = 1.0, arch: str = "bert",
                          seed: int = 0) -> tuple[str, str]:
    """A 2-layer, hidden-32 model with the 7 ``unbiased`` labels: loads offline in about a second."""
    return build_checkpoint(directory, arch=arch, classes=UNBIASED_LABELS, hidden=32, layers=2, heads=2,
                            intermediate=64, vocab_size=1000, head_scale=head_scale, seed=seed)
