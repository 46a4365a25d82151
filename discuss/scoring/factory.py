"""Builds the configured scorer from app.config (TOXICITY_MODEL, TOXICITY_CHECKPOINT, TOXICITY_CONFIG_DIR,
TOXICITY_BACKEND, SCORER_THREADS, SCORER_CACHE_DIR, SCORER_AGREEMENT_TOLERANCE, TOXICITY_ONNX_RECIPES).

- ``auto``: the first fast-path recipe (default ``bf16,fp32``: onnx_scorer.RECIPES) whose build and agreement
  check with plain fp32 Detoxify pass; a warm start loads a cached ONNX model without importing torch. Else
  plain Detoxify, with the reasons in ``scorer.info["fallback_reason"]`` (/healthz, `flask discuss model check`).
- ``onnx``: a fast-path recipe required; any failure fails the load (state "failed", reason in the error).
- ``torch``: plain Detoxify only.
"""
from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from typing import Any, Callable

from discuss.scoring.base import Scorer

BACKENDS = ("auto", "onnx", "torch")
MODELS = ("original", "unbiased", "multilingual", "original-small", "unbiased-small")


@dataclass(frozen=True)
class ScorerSettings:
    model: str = "unbiased"
    checkpoint: str | None = None
    config_dir: str | None = None
    backend: str = "auto"
    threads: int = 2
    cache_dir: str | None = None
    tolerance: float = 0.01
    recipes: tuple[str, ...] | None = None  # in preference order; None: onnx_scorer.DEFAULT_RECIPES

    @classmethod
    def from_config(cls, config: dict[str, Any], cache_dir: str | None = None) -> "ScorerSettings":
        backend = str(config.get("TOXICITY_BACKEND") or "auto").lower()
        if backend not in BACKENDS:
            raise ValueError(f"TOXICITY_BACKEND must be one of {', '.join(BACKENDS)}, not {backend!r}")
        return cls(model=config.get("TOXICITY_MODEL") or "unbiased",
                   checkpoint=config.get("TOXICITY_CHECKPOINT") or None,
                   config_dir=config.get("TOXICITY_CONFIG_DIR") or None,
                   backend=backend,
                   threads=int(config.get("SCORER_THREADS") or 2),
                   cache_dir=config.get("SCORER_CACHE_DIR") or cache_dir,
                   tolerance=float(config.get("SCORER_AGREEMENT_TOLERANCE", 0.01)),
                   recipes=_recipes(config.get("TOXICITY_ONNX_RECIPES")))

    @property
    def resolved_cache_dir(self) -> str:
        return self.cache_dir or os.path.join(tempfile.gettempdir(), "discuss-scoring-cache")

    def describe(self) -> str:
        source = f" ({self.checkpoint})" if self.checkpoint else ""
        return f"detoxify:{self.model}{source}"


def _recipes(value) -> tuple[str, ...] | None:
    if not value:
        return None
    items = value.split(",") if isinstance(value, str) else list(value)
    return tuple(item.strip() for item in items if item.strip()) or None


def load_scorer(settings: ScorerSettings) -> Scorer:
    """Load synchronously (call from a background thread, or the CLI). Raises when nothing can load."""
    from discuss.scoring.detoxify_scorer import DetoxifyScorer

    started = time.perf_counter()
    if settings.model not in MODELS and not settings.checkpoint:
        raise ValueError(f"TOXICITY_MODEL must be one of {', '.join(MODELS)}, not {settings.model!r}")
    if settings.checkpoint and not os.path.exists(settings.checkpoint):
        raise FileNotFoundError(f"TOXICITY_CHECKPOINT {settings.checkpoint} does not exist")

    def torch_scorer() -> DetoxifyScorer:
        try:
            return DetoxifyScorer(settings.model, checkpoint=settings.checkpoint,
                                  config_dir=settings.config_dir, threads=settings.threads)
        except Exception as exc:
            hint = ("" if settings.checkpoint else " (named models download their weights on first use; "
                    "offline, set DISCUSS_TOXICITY_CHECKPOINT and DISCUSS_TOXICITY_CONFIG_DIR)")
            raise RuntimeError(f"cannot load Detoxify model {settings.describe()}: "
                               f"{type(exc).__name__}: {exc}{hint}") from exc

    if settings.backend == "torch":
        scorer: Any = torch_scorer()
        scorer.info = {"backend": "torch", "fallback_reason": None}
    else:
        scorer = _fast_scorer(settings, torch_scorer)
    scorer.info.update(load_seconds=round(time.perf_counter() - started, 2), threads=settings.threads)
    return scorer


def _fast_scorer(settings: ScorerSettings, torch_scorer: Callable[[], Any]) -> Any:
    """A cached recipe, else one built now; else (``auto``) plain Detoxify with the reason."""
    from discuss.scoring import onnx_scorer

    key = reason = scorer = None
    try:
        key = onnx_scorer.fingerprint(settings.checkpoint, settings.model)
        scorer = onnx_scorer.load_cached(settings.resolved_cache_dir, key, settings.threads, settings.tolerance,
                                         settings.recipes, torch_loader=torch_scorer)
    except Exception as exc:  # noqa: BLE001 - a broken cache entry means: rebuild
        reason = f"cached ONNX model unusable: {type(exc).__name__}: {exc}"
    if scorer is None:
        reference = torch_scorer()
        try:
            if key is None:
                raise onnx_scorer.OnnxUnavailable(reason or "no cache key")
            scorer = onnx_scorer.build(reference, settings.resolved_cache_dir, key, settings.threads,
                                       settings.tolerance, settings.recipes)
            reference.release()  # the ONNX session replaces the torch weights
        except Exception as exc:  # noqa: BLE001 - any failure: fall back, say why
            reason = str(exc) if isinstance(exc, onnx_scorer.OnnxUnavailable) else \
                f"ONNX path failed: {type(exc).__name__}: {exc}"
            if settings.backend == "onnx":
                raise RuntimeError(f"TOXICITY_BACKEND=onnx but {reason}") from exc
            reference.info = {"backend": "torch", "fallback_reason": reason}
            return reference
    scorer.info.update(backend=scorer.backend, fallback_reason=None)
    return scorer


def build_loader(config: dict[str, Any], cache_dir: str | None = None) -> tuple[Callable[[], Scorer], str]:
    settings = ScorerSettings.from_config(config, cache_dir)
    return (lambda: load_scorer(settings)), settings.describe()
