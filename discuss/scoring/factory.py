"""Builds the configured scorer from app.config (the TOXICITY_* and SCORER_* settings of discuss/config.py; the
README's scoring section says what each backend serves). Why ``auto`` fell back goes to info["fallback_reason"]."""
from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from typing import Any, Callable

from discuss.config import Config
from discuss.scoring.base import Scorer

BACKENDS = ("auto", "onnx", "torch")
MODELS = ("original", "unbiased", "multilingual", "original-small", "unbiased-small")


@dataclass(frozen=True)
class ScorerSettings:
    model: str = Config.TOXICITY_MODEL
    checkpoint: str | None = None
    config_dir: str | None = None
    backend: str = Config.TOXICITY_BACKEND
    threads: int = Config.SCORER_THREADS
    cache_dir: str | None = None
    tolerance: float = Config.SCORER_AGREEMENT_TOLERANCE
    recipes: tuple[str, ...] | None = None  # in preference order; None: onnx_scorer.DEFAULT_RECIPES

    @classmethod
    def from_config(cls, config: dict[str, Any], cache_dir: str | None = None) -> "ScorerSettings":
        """Settings left empty in ``config`` (also an app not configured from discuss.config) take the defaults."""
        backend = str(config.get("TOXICITY_BACKEND") or cls.backend).lower()
        if backend not in BACKENDS:
            raise ValueError(f"TOXICITY_BACKEND must be one of {', '.join(BACKENDS)}, not {backend!r}")
        recipes = config.get("TOXICITY_ONNX_RECIPES") or ()
        recipes = recipes.split(",") if isinstance(recipes, str) else recipes
        return cls(model=config.get("TOXICITY_MODEL") or cls.model,
                   checkpoint=config.get("TOXICITY_CHECKPOINT") or None,
                   config_dir=config.get("TOXICITY_CONFIG_DIR") or None,
                   backend=backend,
                   threads=int(config.get("SCORER_THREADS") or cls.threads),
                   cache_dir=config.get("SCORER_CACHE_DIR") or cache_dir,
                   tolerance=float(config.get("SCORER_AGREEMENT_TOLERANCE", cls.tolerance)),
                   recipes=tuple(item.strip() for item in recipes if item.strip()) or None)

    @property
    def resolved_cache_dir(self) -> str:
        return self.cache_dir or os.path.join(tempfile.gettempdir(), "discuss-scoring-cache")

    def describe(self) -> str:
        source = f" ({self.checkpoint})" if self.checkpoint else ""
        return f"detoxify:{self.model}{source}"


def load_scorer(settings: ScorerSettings) -> Scorer:
    """Load synchronously (call from a background thread, or the CLI). Raises when nothing can load."""
    started = time.perf_counter()
    if settings.model not in MODELS and not settings.checkpoint:
        raise ValueError(f"TOXICITY_MODEL must be one of {', '.join(MODELS)}, not {settings.model!r}")
    if settings.checkpoint and not os.path.exists(settings.checkpoint):
        raise FileNotFoundError(f"TOXICITY_CHECKPOINT {settings.checkpoint} does not exist")
    scorer, reason = (_torch_scorer(settings), None) if settings.backend == "torch" else _fast_scorer(settings)
    scorer.info.update(backend=scorer.backend, fallback_reason=reason,
                       load_seconds=round(time.perf_counter() - started, 2), threads=settings.threads)
    return scorer


def _torch_scorer(settings: ScorerSettings):
    from discuss.scoring.detoxify_scorer import DetoxifyScorer

    try:
        return DetoxifyScorer(settings.model, checkpoint=settings.checkpoint, config_dir=settings.config_dir,
                              threads=settings.threads)
    except Exception as exc:
        hint = ("" if settings.checkpoint else " (named models download their weights on first use; "
                "offline, set DISCUSS_TOXICITY_CHECKPOINT and DISCUSS_TOXICITY_CONFIG_DIR)")
        raise RuntimeError(f"cannot load Detoxify model {settings.describe()}: "
                           f"{type(exc).__name__}: {exc}{hint}") from exc


def _fast_scorer(settings: ScorerSettings) -> tuple[Any, str | None]:
    """(a cached recipe, else one built now, None); else (``auto``) (plain Detoxify, why)."""
    from discuss.scoring import onnx_scorer

    key = reason = None
    try:
        key = onnx_scorer.fingerprint(settings.checkpoint, settings.model)
        scorer = onnx_scorer.load_cached(settings.resolved_cache_dir, key, settings.threads, settings.tolerance,
                                         settings.recipes, torch_loader=lambda: _torch_scorer(settings))
        if scorer is not None:
            return scorer, None
    except Exception as exc:  # noqa: BLE001 - a broken cache entry means: rebuild
        reason = f"cached ONNX model unusable: {type(exc).__name__}: {exc}"
    reference = _torch_scorer(settings)
    try:
        if key is None:
            raise onnx_scorer.OnnxUnavailable(reason)
        scorer = onnx_scorer.build(reference, settings.resolved_cache_dir, key, settings.threads,
                                   settings.tolerance, settings.recipes)
    except Exception as exc:  # noqa: BLE001 - any failure: fall back, say why
        reason = str(exc) if isinstance(exc, onnx_scorer.OnnxUnavailable) else \
            f"ONNX path failed: {type(exc).__name__}: {exc}"
        if settings.backend == "onnx":
            raise RuntimeError(f"TOXICITY_BACKEND=onnx but {reason}") from exc
        return reference, reason
    reference.release()  # the ONNX session replaces the torch weights
    return scorer, None


def build_loader(config: dict[str, Any], cache_dir: str | None = None) -> tuple[Callable[[], Scorer], str]:
    settings = ScorerSettings.from_config(config, cache_dir)
    return (lambda: load_scorer(settings)), settings.describe()
