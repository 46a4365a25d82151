"""Fast path: the same Detoxify model exported to ONNX, graph-fused, optionally int8-quantized, on ONNX Runtime.

Built at load time from the loaded torch model and cached on disk, keyed by a hash of the checkpoint (plus
torch / onnxruntime versions and the recipe version), so only the first start of a new model pays for the
export. Candidate recipes are tried in order (fastest first, see ``RECIPES``); a recipe is used only if it
agrees with the fp32 torch model on the sample comments (max abs probability difference <=
``AGREEMENT_TOLERANCE``, at batch 1 and in padded batches). Every verdict is cached with the model. A cache
entry holds ``model.<recipe>.onnx`` per built recipe, the tokenizer (``save_pretrained``) and ``meta.json``
(labels, limits, per-recipe agreement), so a warm start imports neither torch nor the 500 MB checkpoint: the
tokenizer runs on the ``tokenizers`` library when its ids were checked equal to the reference tokenizer's.

Building (export, fusion, quantization) lives in ``onnx_build``; this module serves, checks and caches.
What each recipe gives in speed, memory and agreement is printed by ``python -m bench.scoring`` and summarised
in the README ("Scoring speed"). In short: dynamic int8 is the fastest but disagrees with fp32 by far more than
0.01 on every stand-in, and most on real trained weights, whose activations have outlier channels;
block-wise int8 cuts that error (by a third on random weights, by five sixths on trained ones) but still misses
0.01; the torch model with bf16 matmuls or fp16 weights (not ONNX, see torch_recipes) agrees within 0.01 and
bf16 beats fused fp32 behind the service where bf16 is native, fp16 weights do not; fused fp32 is exact. So
``auto`` serves int8 only for a checkpoint whose own check passes (the tiny test model does), else bf16 on CPUs
that have it, else fused fp32.
Gotchas (see shared notes): the dynamo exporter's shape annotations break ``quantize_dynamic`` until
``graph.value_info`` is cleared; weight-shared models (ALBERT) need ``quant_pre_process`` first;
``quantize_dynamic`` turns Gemm into ``<name>_MatMul`` before it applies ``nodes_to_exclude``.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from discuss.scoring import batching, onnx_build, torch_recipes
from discuss.scoring.onnx_build import OnnxUnavailable  # noqa: F401 - raised here too, caught by the factory
from discuss.scoring.samples import SAMPLE_COMMENTS, agreement_comments

AGREEMENT_TOLERANCE = 0.01
RECIPE = "ts-export/ort-fusion/recipes/v5"  # v5: last layer exported for the first token only
META_FILE = "meta.json"


@dataclass(frozen=True)
class Recipe:
    """How one candidate model is built from the fp32 export. ``method``: None (the fused fp32 model itself),
    "int8" (onnx_build.quantize_int8), "blockwise" (onnx_build.quantize_blockwise), or "torch" (no ONNX: the
    torch model converted by torch_recipes); ``graph``: "fused", "fused-no-attention" (attention left as
    MatMuls, so block-wise weights reach Q/K/V too), or "none"."""

    backend: str
    method: str | None = None
    options: tuple[tuple[str, object], ...] = ()
    graph: str = "fused"


# Order of DEFAULT_RECIPES = preference (fastest first); the rest are measured levers (bench/scoring.py).
RECIPES: dict[str, Recipe] = {
    "int8": Recipe("onnx-int8", "int8", (("per_channel", True), ("exclude", r"classifier|pooler"))),
    "fp32": Recipe("onnx-fp32"),
    "int8-v1": Recipe("onnx-int8", "int8", (("per_channel", False), ("exclude", None))),
    "int8-rr": Recipe("onnx-int8", "int8", (("per_channel", True), ("reduce_range", True),
                                            ("exclude", r"classifier|pooler"))),
    "int8-ffn": Recipe("onnx-int8", "int8", (("per_channel", True), ("op_types", ("MatMul",)),
                                             ("exclude", r"classifier|pooler|^Attention|attention"))),
    # 8-bit weights in blocks of 32 with activations quantized per block, int8 arithmetic
    "int8-blk": Recipe("onnx-int8-blk", "blockwise", (("accuracy_level", 4),), "fused-no-attention"),
    # the same weights with fp32 arithmetic: a memory lever only
    "w8-blk": Recipe("onnx-w8", "blockwise", (("accuracy_level", 0),), "fused-no-attention"),
    # not ONNX: the torch model itself with cheaper matmuls, registered in torch_recipes (bf16 only on CPUs
    # with native bf16; fp16w, fp16 weights with fp32 arithmetic, where torch has FBGEMM)
    **{name: Recipe(spec.backend, "torch", graph="none") for name, spec in torch_recipes.TORCH_RECIPES.items()},
}
# bf16 comes before fp32: it agrees within 0.01 on every stand-in and, since it scores whole micro-batches in
# one padding-free pass (packed.py), beats fused ONNX fp32 behind the service (README "Scoring speed"). CPUs
# without native bf16 skip it and serve fp32. fp16w is not a default: it agrees ten times closer than bf16 but,
# measured on an AVX2 CPU, ran 7-12% slower than fused ONNX fp32 (same rounds), at ~50 MB less memory.
DEFAULT_RECIPES = ("int8", "bf16", "fp32")
MODEL_FILE = "model.int8.onnx"  # the default int8 recipe's file


def model_file(recipe: str) -> str:
    return f"model.{recipe}.onnx"


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "none"


def fingerprint(checkpoint: str | None, model_type: str) -> str:
    """sha256 of the checkpoint file (or of the release URL for a named model), plus versions and recipe.

    Versions come from package metadata: importing torch here would cost ~180 MB of RSS on every warm start.
    """
    digest = hashlib.sha256()
    if checkpoint:
        with open(checkpoint, "rb") as handle:
            for block in iter(lambda: handle.read(8 << 20), b""):
                digest.update(block)
    else:
        from detoxify.detoxify import MODEL_URLS

        digest.update(MODEL_URLS.get(model_type, model_type).encode())
    digest.update(f"|{_version('torch')}|{_version('onnxruntime')}|{RECIPE}".encode())
    return digest.hexdigest()[:24]


@contextlib.contextmanager
def _locked(directory: Path):
    """Serialise builders across processes (two gunicorn workers starting at once build once)."""
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


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
    """Scores with an ONNX Runtime session; same tokenisation and truncation as the torch path.

    ``max_batch`` defaults to 1: measured on this 2-core CPU (bench/scoring.py), one ~60-token comment already
    saturates both cores, and padded batches ran slower (int8: ~14/s sorted batches of 8 vs ~22/s one by one)
    and grew the ORT arena (~340 -> ~610 MB). The service still collects concurrent posts into one hand-off.
    """

    def __init__(self, model_path: str | os.PathLike, tokenizer, labels: Sequence[str], max_length: int,
                 pad_id: int, threads: int = 2, max_batch: int = 1, max_tokens: int = 4096,
                 info: dict | None = None, backend: str = "onnx-int8"):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, int(threads))
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
        self.tokenizer = tokenizer
        self.labels = tuple(labels)
        self.max_length = max_length
        self.pad_id = pad_id
        self.max_batch = max_batch
        self.max_tokens = max_tokens
        self.backend = backend
        self.info = dict(info or {})
        self._lock = threading.Lock()

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return self.session.run(["logits"], {"input_ids": ids, "attention_mask": mask})[0]


def agreement(reference, candidate, texts: Sequence[str] | None = None) -> dict[str, float]:
    """Max abs difference of probabilities and of logits between two scorers on ``texts`` (default:
    ``agreement_comments()``): the candidate one comment at a time and in padded, length-sorted batches of 8
    (catches padding/mask export bugs)."""
    texts = agreement_comments() if texts is None else list(texts)
    ref = reference.logits_batch(list(texts), max_batch=1)
    worst_prob = worst_logit = 0.0
    for max_batch in (1, 8):
        got = candidate.logits_batch(list(texts), max_batch=max_batch)
        worst_prob = max(worst_prob, float(np.abs(batching.sigmoid(ref) - batching.sigmoid(got)).max()))
        worst_logit = max(worst_logit, float(np.abs(ref - got).max()))
    return {"max_prob_diff": worst_prob, "max_logit_diff": worst_logit, "samples": len(texts)}


def _tokenizer_for(entry: Path, meta: dict):
    if meta.get("fast_tokenizer") and (entry / "tokenizer" / "tokenizer.json").exists():
        return FastTokenizer(entry / "tokenizer" / "tokenizer.json", meta["max_length"], meta["pad_id"])
    import transformers

    tokenizer_class = getattr(transformers, meta["tokenizer_class"], transformers.AutoTokenizer)
    return tokenizer_class.from_pretrained(str(entry / "tokenizer"), local_files_only=True)


def _from_entry(entry: Path, recipe: str, threads: int, tokenizer=None, meta: dict | None = None) -> OnnxScorer:
    meta = meta or json.loads((entry / META_FILE).read_text())
    if tokenizer is None:
        tokenizer = _tokenizer_for(entry, meta)
    verdict = (meta.get("recipes") or {}).get(recipe) or {}
    return OnnxScorer(entry / model_file(recipe), tokenizer, meta["labels"], meta["max_length"], meta["pad_id"],
                      threads, backend=RECIPES[recipe].backend,
                      info={"agreement": verdict.get("agreement"), "onnx_cache": str(entry), "recipe": recipe,
                            "fused": verdict.get("fused"),
                            "first_token_last_layer": verdict.get("first_token_last_layer")})


def _read_meta(entry: Path) -> dict:
    try:
        return json.loads((entry / META_FILE).read_text())
    except (OSError, ValueError):
        return {}


def _passes(verdict: dict, tolerance: float) -> bool:
    agree = (verdict or {}).get("agreement") or {}
    return "max_prob_diff" in agree and agree["max_prob_diff"] <= tolerance


def _recipes(recipes: Sequence[str] | None) -> tuple[str, ...]:
    chosen = tuple(recipes or DEFAULT_RECIPES)
    unknown = [name for name in chosen if name not in RECIPES]
    if unknown:
        raise OnnxUnavailable(f"unknown ONNX recipe(s) {', '.join(unknown)}; known: {', '.join(RECIPES)}")
    return chosen


def load_cached(cache_dir: str | os.PathLike, key: str, threads: int = 2,
                tolerance: float = AGREEMENT_TOLERANCE, recipes: Sequence[str] | None = None,
                torch_loader=None) -> OnnxScorer | None:
    """The first recipe (in preference order) already built for this checkpoint whose recorded agreement is
    within ``tolerance``; None when a recipe before it was never tried (a build may still find a faster one).
    A passing torch recipe needs ``torch_loader`` (loads the fp32 DetoxifyScorer, then converted)."""
    entry = Path(cache_dir) / key
    meta = _read_meta(entry)
    tried = meta.get("recipes") or {}
    for recipe in _recipes(recipes):
        verdict = tried.get(recipe)
        if verdict is None:
            return None
        if not (_passes(verdict, tolerance) and _ready(entry, recipe)):
            continue  # a failed or skipped recipe: checked without importing torch
        if RECIPES[recipe].method == "torch":
            if torch_recipes.skip_reason(recipe):
                continue  # the cache came from another machine
            if torch_loader is None:
                return None
            scorer = torch_recipes.convert(recipe, torch_loader())
            scorer.info.update(agreement=verdict.get("agreement"), onnx_cache=str(entry))
        else:
            scorer = _from_entry(entry, recipe, threads, meta=meta)
        scorer.info["cached"] = True
        return scorer
    return None


def _ready(entry: Path, recipe: str) -> bool:
    """Is what the recipe serves on disk? (torch recipes are rebuilt from the checkpoint at each start.)"""
    return RECIPES[recipe].method == "torch" or (entry / model_file(recipe)).exists()


def _fast_tokenizer_matches(reference, path: Path) -> bool:
    """Do the ``tokenizers`` ids equal the reference tokenizer's (truncation included)?"""
    if not path.exists():
        return False
    try:
        fast = FastTokenizer(path, reference.max_length, reference.pad_id)
        probe = list(SAMPLE_COMMENTS) + ["", "Ünïcödé — ‘quotes’ 😀 and   spaces", "word " * 1300]
        return batching.encode(fast, probe, reference.max_length) == reference.encode(probe)
    except Exception:  # noqa: BLE001 - any doubt: keep the transformers tokenizer
        return False


def build(reference, cache_dir: str | os.PathLike, key: str, threads: int = 2,
          tolerance: float = AGREEMENT_TOLERANCE, recipes: Sequence[str] | None = None) -> OnnxScorer:
    """Export ``reference`` (a loaded DetoxifyScorer), fuse, build each recipe in order until one agrees;
    cache models and verdicts. Raises OnnxUnavailable with the reasons when no recipe can be used."""
    entry = Path(cache_dir) / key
    order = _recipes(recipes)
    with _locked(Path(cache_dir)):
        cached = load_cached(cache_dir, key, threads, tolerance, order)
        if cached is not None:  # another process built it while we waited
            return cached
        entry.mkdir(parents=True, exist_ok=True)
        meta = _read_meta(entry)
        if not meta.get("labels"):
            reference.tokenizer.save_pretrained(str(entry / "tokenizer"))
            meta = {"labels": list(reference.labels), "max_length": reference.max_length,
                    "pad_id": reference.pad_id, "tokenizer_class": type(reference.tokenizer).__name__,
                    "recipe": RECIPE, "recipes": {}}
            meta["fast_tokenizer"] = _fast_tokenizer_matches(reference, entry / "tokenizer" / "tokenizer.json")
            (entry / META_FILE).write_text(json.dumps(meta))
        tokenizer = _tokenizer_for(entry, meta)
        reasons: list[str] = []
        with tempfile.TemporaryDirectory(dir=entry) as work:
            exports = onnx_build.Exports(reference.model, Path(work))
            for recipe in order:
                verdict = (meta.get("recipes") or {}).get(recipe)
                if verdict is not None and _ready(entry, recipe):
                    if _passes(verdict, tolerance):
                        scorer = (torch_recipes.from_reference(recipe, reference, threads)
                                  if RECIPES[recipe].method == "torch"
                                  else _from_entry(entry, recipe, threads, tokenizer, meta))
                        scorer.info.update(cached=True, agreement=verdict.get("agreement"))
                        return scorer
                    reasons.append(_disagrees(recipe, verdict, tolerance, cached=True))
                    continue
                candidate = _build_and_check(recipe, exports, entry, meta, reference, threads, tokenizer,
                                             tolerance, reasons)
                if candidate is not None:
                    candidate.info["rejected"] = list(reasons) or None
                    return candidate
        raise OnnxUnavailable("; ".join(reasons) or "no ONNX recipe")


def _build_and_check(recipe: str, exports: onnx_build.Exports, entry: Path, meta: dict, reference, threads: int,
                     tokenizer, tolerance: float, reasons: list[str]) -> "OnnxScorer | None":
    """Build one recipe into the cache, measure its agreement, record the verdict. The scorer if it passes;
    otherwise None with the reason appended (the model stays cached with its verdict: not rebuilt)."""
    spec, stats = RECIPES[recipe], None
    if spec.method == "torch":
        skipped = torch_recipes.skip_reason(recipe)
        if skipped:
            # recorded, so warm starts skip it without importing torch to ask again
            verdict = {"agreement": None, "passed": False, "skipped": skipped}
            _record_verdict(entry, meta, recipe, verdict)
            reasons.append(f"{recipe} skipped: {skipped}")
            return None
        try:
            candidate = torch_recipes.from_reference(recipe, reference, threads)
        except Exception as exc:  # noqa: BLE001 - e.g. FBGEMM refusing a CPU without AVX2
            reasons.append(f"{recipe}: conversion failed: {type(exc).__name__}: {str(exc)[:300]}")
            return None
    else:
        source, stats = exports.graph(spec.graph)
        try:
            if spec.method is None:
                onnx_build.link_or_copy(source, entry / model_file(recipe))
            else:
                target = exports.work / model_file(recipe)
                quantize = onnx_build.quantize_int8 if spec.method == "int8" else onnx_build.quantize_blockwise
                quantize(source, target, **dict(spec.options))
                os.replace(target, entry / model_file(recipe))
        except Exception as exc:  # noqa: BLE001
            reasons.append(f"{recipe}: quantization failed: {type(exc).__name__}: {str(exc)[:300]}")
            return None
        candidate = _from_entry(entry, recipe, threads, tokenizer, meta)
    try:
        measured = agreement(reference, candidate)
    except Exception as exc:  # noqa: BLE001
        reasons.append(f"{recipe}: model failed to run: {type(exc).__name__}: {exc}")
        (entry / model_file(recipe)).unlink(missing_ok=True)
        return None
    verdict = {"agreement": measured, "passed": measured["max_prob_diff"] <= tolerance, "fused": stats,
               "first_token_last_layer": exports.first_token_last_layer if spec.method != "torch" else None}
    _record_verdict(entry, meta, recipe, verdict)
    if not verdict["passed"]:
        reasons.append(_disagrees(recipe, verdict, tolerance))
        return None
    candidate.info.update(agreement=measured, cached=False, fused=stats, onnx_cache=str(entry),
                          first_token_last_layer=verdict["first_token_last_layer"])
    return candidate


def _disagrees(recipe: str, verdict: dict, tolerance: float, cached: bool = False) -> str:
    if verdict.get("skipped"):
        return f"{recipe} skipped: {verdict['skipped']}" + (" (cached verdict)" if cached else "")
    agree = verdict.get("agreement") or {}
    return (f"{recipe} model disagrees with torch: max prob diff {agree.get('max_prob_diff', float('nan')):.4f} "
            f"> {tolerance} (logit {agree.get('max_logit_diff', float('nan')):.3f})"
            + (" (cached verdict)" if cached else ""))


def _record_verdict(entry: Path, meta: dict, recipe: str, verdict: dict) -> None:
    meta.setdefault("recipes", {})[recipe] = verdict
    (entry / META_FILE).write_text(json.dumps(meta))
