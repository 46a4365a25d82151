"""Fast-path recipes (ONNX ``fp32`` and ``int8``, torch ``bf16``: torch_recipes), tried in order; one is served
only if it agrees with plain fp32 Detoxify on the check comments (max |probability difference| <= the tolerance).

Built at the first start of a checkpoint and cached on disk (onnx_build), keyed by a hash of the checkpoint, the
torch and onnxruntime versions and ``RECIPE``, with each recipe's verdict and the tokenizer in ``meta.json``, so a
warm ONNX start imports neither torch nor the checkpoint (the ``tokenizers`` library, once checked equal).
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np

from discuss.config import Config
from discuss.scoring import batching, onnx_build, torch_recipes
from discuss.scoring.onnx_build import OnnxUnavailable  # noqa: F401 - raised here too, caught by the factory
from discuss.scoring.samples import SAMPLE_COMMENTS, agreement_comments

RECIPE = "ts-export/ort-fusion/recipes/v5"  # v5: last layer exported for the first token only
META_FILE = "meta.json"


# recipe -> backend, for DISCUSS_TOXICITY_ONNX_RECIPES; int8 misses 0.01 on trained weights, so it is opt-in
RECIPES: dict[str, str] = {"int8": "onnx-int8", "fp32": "onnx-fp32", **torch_recipes.TORCH_RECIPES}
DEFAULT_RECIPES = tuple(Config.TOXICITY_ONNX_RECIPES.split(","))


def model_file(recipe: str) -> str:
    return f"model.{recipe}.onnx"


def fingerprint(checkpoint: str | None, model_type: str) -> str:
    """sha256 of the checkpoint file (or of the release URL for a named model), plus versions and recipe.
    Versions come from package metadata: importing torch here would cost ~180 MB of RSS on every warm start."""
    from importlib.metadata import version

    if checkpoint:
        with open(checkpoint, "rb") as handle:
            digest = hashlib.file_digest(handle, "sha256")
    else:
        from detoxify.detoxify import MODEL_URLS

        digest = hashlib.sha256(MODEL_URLS.get(model_type, model_type).encode())
    digest.update(f"|{version('torch')}|{version('onnxruntime')}|{RECIPE}".encode())
    return digest.hexdigest()[:24]


class FastTokenizer:
    """The saved ``tokenizer.json`` on the ``tokenizers`` library: no transformers/torch import at run time.
    Used only after its ids matched the reference tokenizer's (checked at build time)."""

    def __init__(self, path: str | os.PathLike, max_length: int, pad_id: int):
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(path))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length)
        self.pad_token_id = pad_id

    def __call__(self, texts, truncation=True, max_length=None, padding=False):
        return {"input_ids": [enc.ids for enc in self.tokenizer.encode_batch(list(texts))]}


class OnnxScorer(batching.BatchedScorer):
    """Scores on an ONNX Runtime session, one comment per run: on 2 cores one already fills both, and padded
    batches ran slower and grew the ORT arena (bench/research/README.md)."""

    max_batch = 1

    def __init__(self, model_path: str | os.PathLike, tokenizer, labels: Sequence[str], max_length: int,
                 pad_id: int, threads: int = 2, backend: str = "onnx-int8"):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads, options.inter_op_num_threads = max(1, int(threads)), 1  # sequential, all opts
        self.session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
        super().__init__(tokenizer, labels, max_length, pad_id)
        self.backend = backend

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return self.session.run(["logits"], {"input_ids": ids, "attention_mask": mask})[0]


def agreement(reference, candidate, texts: Sequence[str] | None = None) -> dict[str, float]:
    """Max abs difference of probabilities and of logits between two scorers on ``texts`` (agreement_comments()),
    the candidate one at a time and in padded batches of 8 (which catch padding/mask export bugs)."""
    texts = agreement_comments() if texts is None else list(texts)
    ref = reference.logits_batch(list(texts), max_batch=1)
    worst_prob = worst_logit = 0.0
    for max_batch in (1, 8):
        got = candidate.logits_batch(list(texts), max_batch=max_batch)
        worst_prob = max(worst_prob, float(np.abs(batching.sigmoid(ref) - batching.sigmoid(got)).max()))
        worst_logit = max(worst_logit, float(np.abs(ref - got).max()))
    return {"max_prob_diff": worst_prob, "max_logit_diff": worst_logit, "samples": len(texts)}


def _recipes(recipes: Sequence[str] | None) -> tuple[str, ...]:
    chosen = tuple(recipes or DEFAULT_RECIPES)
    unknown = [name for name in chosen if name not in RECIPES]
    if unknown:
        raise OnnxUnavailable(f"unknown ONNX recipe(s) {', '.join(unknown)}; known: {', '.join(RECIPES)}")
    return chosen


def load_cached(cache_dir: str | os.PathLike, key: str, threads: int, tolerance: float,
                recipes: Sequence[str] | None, torch_loader) -> OnnxScorer | None:
    """The first recipe (in preference order) already built for this checkpoint whose recorded agreement is
    within ``tolerance``; None when a recipe before it was never tried (a build may still find a faster one).
    A passing torch recipe is converted from what ``torch_loader`` loads (the fp32 DetoxifyScorer)."""
    entry = _Entry(cache_dir, key, threads, tolerance)
    for recipe in _recipes(recipes):
        if recipe not in entry.verdicts:
            return None
        scorer, _ = entry.serve(recipe, torch_loader)
        if scorer is not None:
            return scorer
    return None


def build(reference, cache_dir: str | os.PathLike, key: str, threads: int, tolerance: float,
          recipes: Sequence[str] | None) -> OnnxScorer:
    """Build each recipe in order from ``reference`` (a loaded DetoxifyScorer) until one agrees, or serve its
    cached verdict (another process may have built it meanwhile); OnnxUnavailable with the reasons if none can."""
    from filelock import FileLock

    order = _recipes(recipes)
    (Path(cache_dir) / key).mkdir(parents=True, exist_ok=True)
    with FileLock(str(Path(cache_dir) / ".lock")):  # two gunicorn workers starting at once build once
        entry, reasons = _Entry(cache_dir, key, threads, tolerance), []
        if not entry.meta.get("labels"):
            entry.start(reference)
        with tempfile.TemporaryDirectory(dir=entry.path) as work:
            # exported and fused once, by the first ONNX recipe to be built (none if a torch recipe passes first)
            graph = functools.cache(lambda: onnx_build.export_and_fuse(reference.model, Path(work)))
            for recipe in order:
                if recipe in entry.verdicts and entry.ready(recipe):
                    scorer, reason = entry.serve(recipe, lambda: torch_recipes.copy_of(reference, threads))
                else:
                    scorer, reason = entry.build(recipe, graph, reference)
                    if scorer is not None:
                        scorer.info["rejected"] = list(reasons) or None
                if scorer is not None:
                    return scorer
                reasons.append(reason)
        raise OnnxUnavailable("; ".join(reasons) or "no ONNX recipe")


class _Entry:
    """One checkpoint's cache folder: a model file per ONNX recipe, the tokenizer, and meta.json (labels,
    lengths, and each recipe's verdict)."""

    def __init__(self, cache_dir: str | os.PathLike, key: str, threads: int, tolerance: float):
        self.path, self.threads, self.tolerance = Path(cache_dir) / key, threads, tolerance
        try:
            self.meta = json.loads((self.path / META_FILE).read_text())
        except (OSError, ValueError):
            self.meta = {}
        self.verdicts: dict = self.meta.setdefault("recipes", {})

    def start(self, reference) -> None:
        """Save the tokenizer and a meta.json without verdicts. The ``tokenizers`` library will tokenize for the
        ONNX recipes only if its ids equal the reference tokenizer's (truncation included)."""
        folder = self.path / "tokenizer"
        reference.tokenizer.save_pretrained(str(folder))
        try:
            fast = FastTokenizer(folder / "tokenizer.json", reference.max_length, reference.pad_id)
            probe = list(SAMPLE_COMMENTS) + ["", "Ünïcödé — ‘quotes’ 😀 and   spaces", "word " * 1300]
            same = fast(probe)["input_ids"] == reference.encode(probe)
        except Exception:  # noqa: BLE001 - no tokenizer.json, or any doubt: keep the transformers tokenizer
            same = False
        self.meta = {"labels": list(reference.labels), "max_length": reference.max_length, "pad_id": reference.pad_id,
                     "tokenizer_class": type(reference.tokenizer).__name__, "recipe": RECIPE, "recipes": {},
                     "fast_tokenizer": same}
        self.verdicts = self.meta["recipes"]
        (self.path / META_FILE).write_text(json.dumps(self.meta))

    def ready(self, recipe: str) -> bool:
        """Is what the recipe serves on disk? (torch recipes are rebuilt from the checkpoint at each start.)"""
        return recipe in torch_recipes.TORCH_RECIPES or (self.path / model_file(recipe)).exists()

    def serve(self, recipe: str, torch_loader) -> tuple[OnnxScorer | None, str | None]:
        """(the scorer, None) when the recorded verdict passes and the recipe can serve here, else (None, why
        not). Failed and skipped verdicts are read without importing torch."""
        verdict, torch_recipe = self.verdicts[recipe], recipe in torch_recipes.TORCH_RECIPES
        if not ((verdict.get("agreement") or {}).get("max_prob_diff", np.inf) <= self.tolerance
                and self.ready(recipe)):
            return None, self.rejected(recipe) + " (cached verdict)"
        skipped = torch_recipe and torch_recipes.skip_reason(recipe)
        if skipped:  # a torch recipe that passed where it ran, but this CPU cannot run it
            return None, f"{recipe} skipped: {skipped}"
        scorer = torch_recipes.convert(recipe, torch_loader()) if torch_recipe else self.onnx_scorer(recipe)
        return self.serving(scorer, recipe, cached=True), None

    def build(self, recipe: str, graph, reference) -> tuple[OnnxScorer | None, str | None]:
        """Build one recipe into the cache, measure its agreement, record the verdict: (the scorer, None) if it
        passes, else (None, why not); a model that disagrees stays cached with its verdict, not rebuilt."""
        torch_recipe = recipe in torch_recipes.TORCH_RECIPES
        skipped = torch_recipe and torch_recipes.skip_reason(recipe)
        if skipped:  # recorded, so warm starts skip it without importing torch to ask again
            self.record(recipe, {"agreement": None, "passed": False, "skipped": skipped})
            return None, self.rejected(recipe)
        source, stats, cut = (None, None, None) if torch_recipe else graph()  # a failed export fails the build
        try:
            if torch_recipe:
                candidate = torch_recipes.convert(recipe, torch_recipes.copy_of(reference, self.threads))
            else:
                onnx_build.make_recipe(recipe, source, self.path / model_file(recipe))
                candidate = self.onnx_scorer(recipe)
        except Exception as exc:  # noqa: BLE001
            step = "conversion" if torch_recipe else "quantization"
            return None, f"{recipe}: {step} failed: {type(exc).__name__}: {str(exc)[:300]}"
        try:
            measured = agreement(reference, candidate)
        except Exception as exc:  # noqa: BLE001
            (self.path / model_file(recipe)).unlink(missing_ok=True)
            return None, f"{recipe}: model failed to run: {type(exc).__name__}: {exc}"
        passed = measured["max_prob_diff"] <= self.tolerance
        self.record(recipe, {"agreement": measured, "passed": passed, "fused": stats,
                             "first_token_last_layer": cut})
        return (self.serving(candidate, recipe, cached=False), None) if passed else (None, self.rejected(recipe))

    def record(self, recipe: str, verdict: dict) -> None:
        self.verdicts[recipe] = verdict
        (self.path / META_FILE).write_text(json.dumps(self.meta))

    def rejected(self, recipe: str) -> str:
        verdict = self.verdicts[recipe]
        if verdict.get("skipped"):
            return f"{recipe} skipped: {verdict['skipped']}"
        agree = verdict.get("agreement") or {}
        return (f"{recipe} model disagrees with torch: max prob diff {agree.get('max_prob_diff', float('nan')):.4f} "
                f"> {self.tolerance} (logit {agree.get('max_logit_diff', float('nan')):.3f})")

    def onnx_scorer(self, recipe: str) -> OnnxScorer:
        meta, folder = self.meta, self.path / "tokenizer"
        if meta.get("fast_tokenizer") and (folder / "tokenizer.json").exists():
            tokenizer = FastTokenizer(folder / "tokenizer.json", meta["max_length"], meta["pad_id"])
        else:
            import transformers

            tokenizer_class = getattr(transformers, meta["tokenizer_class"], transformers.AutoTokenizer)
            tokenizer = tokenizer_class.from_pretrained(str(folder), local_files_only=True)
        return OnnxScorer(self.path / model_file(recipe), tokenizer, meta["labels"], meta["max_length"],
                          meta["pad_id"], self.threads, backend=RECIPES[recipe])

    def serving(self, scorer, recipe: str, cached: bool):
        """``scorer`` with what /healthz and `model check` report about the recipe it serves."""
        verdict = self.verdicts[recipe]
        scorer.info.update(recipe=recipe, cached=cached, onnx_cache=str(self.path), agreement=verdict["agreement"],
                           fused=verdict.get("fused"), first_token_last_layer=verdict.get("first_token_last_layer"))
        return scorer
