"""Fast path: the same Detoxify model exported to ONNX, graph-fused, optionally int8-quantized, on ONNX Runtime.

Built at load time from the loaded torch model and cached on disk, keyed by a hash of the checkpoint (plus
torch / onnxruntime versions and the recipe version), so only the first start of a new model pays for the
export. Candidate recipes are tried in order (fastest first, see ``RECIPES``); a recipe is used only if it
agrees with the fp32 torch model on the sample comments (max abs probability difference <=
``AGREEMENT_TOLERANCE``, at batch 1 and in padded batches). Every verdict is cached with the model. A cache
entry holds ``model.<recipe>.onnx`` per built recipe, the tokenizer (``save_pretrained``) and ``meta.json``
(labels, limits, per-recipe agreement), so a warm start imports neither torch nor the 500 MB checkpoint: the
tokenizer runs on the ``tokenizers`` library when its ids were checked equal to the reference tokenizer's.

Levers measured on this 2-core CPU (bench/scoring.py --quick, roberta-base stand-in for ``unbiased``, head
scaled so probabilities spread 0.01..0.99; batch 1, 64 comments, median 58 tokens):
- plain ``Detoxify.predict``: ~8.4 comments/s, 850 MB RSS.
- export with the TorchScript exporter and eager attention, then ``onnxruntime.transformers.optimizer``
  (model_type "bert", explicit heads/hidden; the BERT patterns also match RoBERTa): 12 Attention, 24
  SkipLayerNorm, 12 BiasGelu fused. The dynamo export does not fuse attention (SDPA + IsNaN/Where pattern).
  fp32 fused: ~10.7 comments/s, ~680 MB (no torch imported), exact (|dp| < 1e-5).
- int8 dynamic, per-tensor, everything quantized (the first recipe): ~28/s, ~320 MB, |dp| 0.067 (|dlogit|
  0.27). Quantizing the classifier head alone moves logits by ~0.1: keep it fp32 (``quantize_dynamic``
  rewrites Gemm to ``<name>_MatMul`` before it applies ``nodes_to_exclude``, so both names are excluded).
  Per-channel weights + fp32 head: ~22/s, ~340 MB, |dp| 0.030-0.033 (|dlogit| 0.18-0.22).
- quantizing any single encoder layer alone (head fp32) already gives |dp| ~0.011 (|dlogit| ~0.05) and the
  embedding table alone |dp| 0.012: the error is spread evenly, so no exclusion list brings int8 under 0.01
  on this model. ``reduce_range`` is worse (|dp| 0.06; this CPU has AVX512-VNNI, no u8s8 saturation to
  avoid); MatMul-only (attention fp32) and 8-bit block-wise MatMulNBits were no better.
- so for the stand-in ``auto`` serves fused fp32; a model whose int8 build agrees (the tiny test model:
  |dp| 0.0008) serves int8. The verdict is per checkpoint: real Detoxify weights get their own check.
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
import re
import tempfile
import threading
from pathlib import Path
from typing import Sequence

import numpy as np

from discuss.scoring import batching
from discuss.scoring.samples import SAMPLE_COMMENTS

AGREEMENT_TOLERANCE = 0.01
RECIPE = "ts-export/ort-fusion/recipes/v2"
META_FILE = "meta.json"

# name -> (backend label, quantization options or None for fp32). Order = preference (fastest first).
RECIPES: dict[str, tuple[str, dict | None]] = {
    "int8": ("onnx-int8", {"per_channel": True, "exclude": r"classifier|pooler"}),
    "fp32": ("onnx-fp32", None),
    # measured levers, not in the default order
    "int8-v1": ("onnx-int8", {"per_channel": False, "exclude": None}),
    "int8-rr": ("onnx-int8", {"per_channel": True, "reduce_range": True, "exclude": r"classifier|pooler"}),
    "int8-ffn": ("onnx-int8", {"per_channel": True, "exclude": r"classifier|pooler|^Attention|attention",
                               "op_types": ["MatMul"]}),
}
DEFAULT_RECIPES = ("int8", "fp32")
MODEL_FILE = "model.int8.onnx"  # the default int8 recipe's file


def model_file(recipe: str) -> str:
    return f"model.{recipe}.onnx"


class OnnxUnavailable(Exception):
    """Export, quantization or the agreement check failed; the reason goes to status()."""


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


class _LogitsModule:
    """torch wrapper returning only the logits tensor, with the two inputs we feed at run time."""

    def __new__(cls, model):
        import torch

        class Logits(torch.nn.Module):
            def __init__(self, inner):
                super().__init__()
                self.inner = inner

            def forward(self, input_ids, attention_mask):
                return self.inner(input_ids=input_ids, attention_mask=attention_mask)[0]

        return Logits(model).eval()


@contextlib.contextmanager
def _eager_attention(model):
    """Export eager attention (Softmax(QK^T)V): ORT's fusion recognises it, not the SDPA export."""
    config = getattr(model, "config", None)
    before = getattr(config, "_attn_implementation", None)
    try:
        if before not in (None, "eager"):
            try:
                model.set_attn_implementation("eager")
            except Exception:  # noqa: BLE001 - older transformers
                config._attn_implementation = "eager"
        yield
    finally:
        if before not in (None, "eager"):
            try:
                model.set_attn_implementation(before)
            except Exception:  # noqa: BLE001
                config._attn_implementation = before


def export_fp32(model, path: Path) -> None:
    """TorchScript export (fusable by ORT); the dynamo exporter if that one is unavailable."""
    import warnings

    import torch

    example = (torch.ones((2, 16), dtype=torch.long), torch.ones((2, 16), dtype=torch.long))
    names = dict(input_names=["input_ids", "attention_mask"], output_names=["logits"])
    try:
        with _eager_attention(model), torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(_LogitsModule(model), example, str(path), dynamo=False, opset_version=17,
                              do_constant_folding=True, **names,
                              dynamic_axes={"input_ids": {0: "batch", 1: "seq"},
                                            "attention_mask": {0: "batch", 1: "seq"}})
        return
    except Exception:  # noqa: BLE001 - fall back to the dynamo exporter
        pass
    from torch.export import Dim

    batch, seq = Dim("batch", max=1024), Dim("seq", max=512)
    with torch.inference_mode(False), torch.no_grad():
        torch.onnx.export(_LogitsModule(model), example, str(path), dynamo=True, verbose=False, **names,
                          dynamic_shapes={"input_ids": {0: batch, 1: seq}, "attention_mask": {0: batch, 1: seq}},
                          external_data=False)


def fuse(source: Path, target: Path, num_heads: int = 0, hidden_size: int = 0) -> dict:
    """onnxruntime.transformers.optimizer fusion (BERT patterns also match RoBERTa). Returns fused op counts."""
    from onnxruntime.transformers import optimizer

    optimized = optimizer.optimize_model(str(source), model_type="bert", num_heads=num_heads,
                                         hidden_size=hidden_size, opt_level=0, use_gpu=False)
    stats = {k: v for k, v in optimized.get_fused_operator_statistics().items() if v}
    optimized.save_model_to_file(str(target))
    return stats


def quantize_int8(fp32_path: Path, int8_path: Path, *, per_channel: bool = True, reduce_range: bool = False,
                  exclude: str | None = r"classifier|pooler", op_types: Sequence[str] | None = None) -> None:
    """Dynamic int8 (QInt8 weights). ``exclude``: regex of node names kept fp32 (default: the classifier head,
    whose error goes straight into the logits)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    source = fp32_path
    try:  # shape inference + graph cleanup: required for weight-shared models (ALBERT), harmless otherwise
        from onnxruntime.quantization.shape_inference import quant_pre_process

        prepped = int8_path.with_suffix(".prep.onnx")
        quant_pre_process(str(fp32_path), str(prepped), skip_symbolic_shape=True)
        source = prepped
    except Exception:  # noqa: BLE001 - pre-processing is an optimisation, not a requirement
        pass
    model = onnx.load(str(source))
    del model.graph.value_info[:]  # stale dynamo shape annotations make quantize_dynamic fail
    excluded = []
    if exclude:
        pattern = re.compile(exclude)
        excluded = [node.name for node in model.graph.node if pattern.search(node.name)]
        excluded += [name + "_MatMul" for name in excluded]  # Gemm is rewritten to <name>_MatMul first
    cleared = int8_path.with_suffix(".clean.onnx")
    onnx.save(model, str(cleared))
    del model
    options = {"DefaultTensorType": onnx.TensorProto.FLOAT}  # fused contrib ops have no inferred types
    try:
        quantize_dynamic(str(cleared), str(int8_path), weight_type=QuantType.QInt8, per_channel=per_channel,
                         reduce_range=reduce_range, nodes_to_exclude=excluded, extra_options=options,
                         **({"op_types_to_quantize": list(op_types)} if op_types else {}))
    finally:
        for leftover in (cleared, int8_path.with_suffix(".prep.onnx")):
            leftover.unlink(missing_ok=True)


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


def agreement(reference, candidate, texts: Sequence[str] = SAMPLE_COMMENTS) -> dict[str, float]:
    """Max abs difference of probabilities and of logits between two scorers on ``texts``: the candidate one
    comment at a time and in padded, length-sorted batches of 8 (catches padding/mask export bugs)."""
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
                      threads, backend=RECIPES[recipe][0],
                      info={"agreement": verdict.get("agreement"), "onnx_cache": str(entry), "recipe": recipe,
                            "fused": verdict.get("fused")})


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
                tolerance: float = AGREEMENT_TOLERANCE, recipes: Sequence[str] | None = None) -> OnnxScorer | None:
    """The first recipe (in preference order) already built for this checkpoint whose recorded agreement is
    within ``tolerance``; None when a recipe before it was never tried (a build may still find a faster one)."""
    entry = Path(cache_dir) / key
    meta = _read_meta(entry)
    tried = meta.get("recipes") or {}
    for recipe in _recipes(recipes):
        verdict = tried.get(recipe)
        if verdict is None:
            return None
        if _passes(verdict, tolerance) and (entry / model_file(recipe)).exists():
            scorer = _from_entry(entry, recipe, threads, meta=meta)
            scorer.info["cached"] = True
            return scorer
    return None


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
        reasons = []
        with tempfile.TemporaryDirectory(dir=entry) as work:
            exported: dict[str, object] = {}

            def fp32_model() -> tuple[Path, dict | None]:
                """Export once, fuse once (fusion failing only costs speed)."""
                if "path" not in exported:
                    raw = Path(work) / "model.raw.onnx"
                    try:
                        export_fp32(reference.model, raw)
                    except Exception as exc:  # noqa: BLE001
                        raise OnnxUnavailable(f"export failed: {type(exc).__name__}: {str(exc)[:300]}") from exc
                    fused, stats = Path(work) / "model.fused.onnx", None
                    config = getattr(reference.model, "config", None)
                    try:
                        stats = fuse(raw, fused, getattr(config, "num_attention_heads", 0) or 0,
                                     getattr(config, "hidden_size", 0) or 0)
                    except Exception:  # noqa: BLE001
                        fused = raw
                    exported.update(path=fused, stats=stats)
                return exported["path"], exported["stats"]

            for recipe in order:
                verdict = (meta.get("recipes") or {}).get(recipe)
                if verdict is not None and (entry / model_file(recipe)).exists():
                    if _passes(verdict, tolerance):
                        scorer = _from_entry(entry, recipe, threads, tokenizer, meta)
                        scorer.info["cached"] = True
                        return scorer
                    reasons.append(_disagrees(recipe, verdict, tolerance, cached=True))
                    continue
                source, stats = fp32_model()
                target = Path(work) / model_file(recipe)
                options = RECIPES[recipe][1]
                if options is None:
                    os.replace(source, target) if recipe == order[-1] else _copy(source, target)
                else:
                    try:
                        if options == RECIPES["int8"][1]:
                            quantize_int8(source, target)
                        else:
                            quantize_int8(source, target, **options)
                    except Exception as exc:  # noqa: BLE001
                        reasons.append(f"{recipe}: quantization failed: {type(exc).__name__}: {str(exc)[:300]}")
                        continue
                os.replace(target, entry / model_file(recipe))
                candidate = _from_entry(entry, recipe, threads, tokenizer, meta)
                try:
                    measured = agreement(reference, candidate)
                except Exception as exc:  # noqa: BLE001
                    reasons.append(f"{recipe}: ONNX model failed to run: {type(exc).__name__}: {exc}")
                    (entry / model_file(recipe)).unlink(missing_ok=True)
                    continue
                verdict = {"agreement": measured, "passed": measured["max_prob_diff"] <= tolerance,
                           "fused": stats}
                meta.setdefault("recipes", {})[recipe] = verdict
                (entry / META_FILE).write_text(json.dumps(meta))
                if verdict["passed"]:
                    candidate.info.update(agreement=measured, cached=False, fused=stats,
                                          rejected=list(reasons) or None)
                    return candidate
                reasons.append(_disagrees(recipe, verdict, tolerance))
                del candidate  # the model stays cached with its verdict: not rebuilt on the next start
        raise OnnxUnavailable("; ".join(reasons) or "no ONNX recipe")


def _disagrees(recipe: str, verdict: dict, tolerance: float, cached: bool = False) -> str:
    agree = verdict.get("agreement") or {}
    return (f"{recipe} model disagrees with torch: max prob diff {agree.get('max_prob_diff', float('nan')):.4f} "
            f"> {tolerance} (logit {agree.get('max_logit_diff', float('nan')):.3f})"
            + (" (cached verdict)" if cached else ""))


def _copy(source: Path, target: Path) -> None:
    import shutil

    shutil.copyfile(source, target)
