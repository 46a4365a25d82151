"""Fast path: the same Detoxify model, exported to ONNX and int8-quantized, on ONNX Runtime.

Built at load time from the loaded torch model and cached on disk, keyed by a hash of the checkpoint (plus
torch / onnxruntime versions and the recipe), so only the first start of a new model pays for the export.
It is used only after it agrees with the fp32 torch model on the sample comments (max abs probability
difference <= ``AGREEMENT_TOLERANCE``); the verdict is cached with the model. Each cache entry holds
``model.int8.onnx``, the tokenizer (``save_pretrained``) and ``meta.json`` (labels, limits, agreement), so a
warm start loads neither torch weights nor the 500 MB checkpoint.

Gotchas (see shared notes): torch 2.13 exports with the dynamo exporter (needs onnxscript); ``quantize_dynamic``
fails on its shape annotations until ``graph.value_info`` is cleared; weight-shared models (ALBERT) need
``quant_pre_process`` first or almost no MatMul gets quantized.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Sequence

import numpy as np

from discuss.scoring import batching
from discuss.scoring.samples import SAMPLE_COMMENTS

AGREEMENT_TOLERANCE = 0.01
RECIPE = "dynamo-export/int8-dynamic-qint8/v1"
MODEL_FILE = "model.int8.onnx"
META_FILE = "meta.json"


class OnnxUnavailable(Exception):
    """Export, quantization or the agreement check failed; the reason goes to status()."""


def fingerprint(checkpoint: str | None, model_type: str) -> str:
    """sha256 of the checkpoint file (or of the release URL for a named model), plus versions and recipe."""
    import onnxruntime
    import torch

    digest = hashlib.sha256()
    if checkpoint:
        with open(checkpoint, "rb") as handle:
            for block in iter(lambda: handle.read(8 << 20), b""):
                digest.update(block)
    else:
        from detoxify.detoxify import MODEL_URLS

        digest.update(MODEL_URLS.get(model_type, model_type).encode())
    digest.update(f"|{torch.__version__}|{onnxruntime.__version__}|{RECIPE}".encode())
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


def export_fp32(model, path: Path) -> None:
    import torch
    from torch.export import Dim

    example = (torch.ones((2, 16), dtype=torch.long), torch.ones((2, 16), dtype=torch.long))
    batch, seq = Dim("batch", max=1024), Dim("seq", max=512)
    with torch.inference_mode(False), torch.no_grad():
        torch.onnx.export(_LogitsModule(model), example, str(path), dynamo=True, verbose=False,
                          input_names=["input_ids", "attention_mask"], output_names=["logits"],
                          dynamic_shapes={"input_ids": {0: batch, 1: seq}, "attention_mask": {0: batch, 1: seq}},
                          external_data=False)


def quantize_int8(fp32_path: Path, int8_path: Path) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    source = fp32_path
    try:  # shape inference + graph cleanup: required for weight-shared models (ALBERT), harmless otherwise
        from onnxruntime.quantization.shape_inference import quant_pre_process

        prepped = fp32_path.with_suffix(".prep.onnx")
        quant_pre_process(str(fp32_path), str(prepped), skip_symbolic_shape=True)
        source = prepped
    except Exception:  # noqa: BLE001 - pre-processing is an optimisation, not a requirement
        pass
    model = onnx.load(str(source))
    del model.graph.value_info[:]  # stale dynamo shape annotations make quantize_dynamic fail
    cleared = fp32_path.with_suffix(".clean.onnx")
    onnx.save(model, str(cleared))
    del model
    quantize_dynamic(str(cleared), str(int8_path), weight_type=QuantType.QInt8, per_channel=False)
    for leftover in (cleared, fp32_path.with_suffix(".prep.onnx")):
        leftover.unlink(missing_ok=True)


class OnnxScorer:
    """Scores with an ONNX Runtime session; same tokenisation and truncation as the torch path.

    ``max_batch`` defaults to 1: measured on this 2-core CPU (bench/scoring.py), int8 MatMulInteger already
    saturates both cores on one ~60-token comment, and padded batches ran ~3x slower and grew the ORT arena
    from ~570 MB to ~990 MB RSS. The service still collects concurrent posts into one worker hand-off.
    """

    def __init__(self, model_path: str | os.PathLike, tokenizer, labels: Sequence[str], max_length: int,
                 pad_id: int, threads: int = 2, max_batch: int = 1, max_tokens: int = 4096,
                 info: dict | None = None):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, int(threads))
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
        self.tokenizer = tokenizer
        self.labels = tuple(labels)
        self.max_length = max_length
        self.pad_id = pad_id
        self.max_batch = max_batch
        self.max_tokens = max_tokens
        self.backend = "onnx-int8"
        self.info = dict(info or {})
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        return batching.encode(self.tokenizer, texts, self.max_length)

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return self.session.run(["logits"], {"input_ids": ids, "attention_mask": mask})[0]

    def logits_batch(self, texts: Sequence[str], *, max_batch: int | None = None, sort: bool = True) -> np.ndarray:
        sequences = self.encode(texts)
        if not sequences:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        with self._lock:
            return batching.run_batched(sequences, self.pad_id, len(self.labels), self._forward,
                                        max_batch or self.max_batch, self.max_tokens, sort)

    def score_batch(self, texts: Sequence[str]) -> list[dict[str, float]]:
        return batching.to_dicts(self.labels, batching.sigmoid(self.logits_batch(texts)))


def agreement(reference, candidate, texts: Sequence[str] = SAMPLE_COMMENTS) -> dict[str, float]:
    """Max abs difference of probabilities and of logits between two scorers on ``texts``."""
    ref = reference.logits_batch(list(texts))
    got = candidate.logits_batch(list(texts))
    return {"max_prob_diff": float(np.abs(batching.sigmoid(ref) - batching.sigmoid(got)).max()),
            "max_logit_diff": float(np.abs(ref - got).max()), "samples": len(texts)}


def _from_entry(entry: Path, threads: int, tokenizer=None) -> OnnxScorer:
    import transformers

    meta = json.loads((entry / META_FILE).read_text())
    if tokenizer is None:
        tokenizer_class = getattr(transformers, meta["tokenizer_class"], transformers.AutoTokenizer)
        tokenizer = tokenizer_class.from_pretrained(str(entry / "tokenizer"), local_files_only=True)
    return OnnxScorer(entry / MODEL_FILE, tokenizer, meta["labels"], meta["max_length"], meta["pad_id"],
                      threads, info={"agreement": meta["agreement"], "onnx_cache": str(entry)})


def _read_meta(entry: Path) -> dict:
    try:
        return json.loads((entry / META_FILE).read_text())
    except (OSError, ValueError):
        return {}


def _passes(meta: dict, tolerance: float) -> bool:
    agree = meta.get("agreement") or {}
    return "max_prob_diff" in agree and agree["max_prob_diff"] <= tolerance


def load_cached(cache_dir: str | os.PathLike, key: str, threads: int = 2,
                tolerance: float = AGREEMENT_TOLERANCE) -> OnnxScorer | None:
    """A previously built model for this checkpoint whose recorded agreement is within ``tolerance``."""
    entry = Path(cache_dir) / key
    meta = _read_meta(entry)
    if not _passes(meta, tolerance) or not (entry / MODEL_FILE).exists():
        return None
    scorer = _from_entry(entry, threads)
    scorer.info["cached"] = True
    return scorer


def build(reference, cache_dir: str | os.PathLike, key: str, threads: int = 2,
          tolerance: float = AGREEMENT_TOLERANCE) -> OnnxScorer:
    """Export + quantize ``reference`` (a loaded DetoxifyScorer), check agreement, cache. Raises
    OnnxUnavailable with the reason when any step fails or the models disagree."""
    entry = Path(cache_dir) / key
    with _locked(Path(cache_dir)):
        cached = load_cached(cache_dir, key, threads, tolerance)
        if cached is not None:  # another process built it while we waited
            return cached
        verdict = _read_meta(entry)
        if verdict.get("agreement") and (entry / MODEL_FILE).exists():  # known to disagree: don't rebuild
            raise OnnxUnavailable(f"int8 model disagrees with torch: max prob diff "
                                  f"{verdict['agreement']['max_prob_diff']:.4f} > {tolerance} (cached verdict)")
        entry.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=entry) as work:
            fp32 = Path(work) / "model.fp32.onnx"
            try:
                export_fp32(reference.model, fp32)
            except Exception as exc:  # noqa: BLE001
                raise OnnxUnavailable(f"export failed: {type(exc).__name__}: {str(exc)[:300]}") from exc
            int8 = Path(work) / MODEL_FILE
            try:
                quantize_int8(fp32, int8)
            except Exception as exc:  # noqa: BLE001
                raise OnnxUnavailable(f"quantization failed: {type(exc).__name__}: {str(exc)[:300]}") from exc
            os.replace(int8, entry / MODEL_FILE)
        reference.tokenizer.save_pretrained(str(entry / "tokenizer"))
        meta = {"labels": list(reference.labels), "max_length": reference.max_length, "pad_id": reference.pad_id,
                "tokenizer_class": type(reference.tokenizer).__name__, "recipe": RECIPE}
        (entry / META_FILE).write_text(json.dumps({**meta, "passed": False, "agreement": None}))
        candidate = _from_entry(entry, threads, tokenizer=reference.tokenizer)
        try:
            measured = agreement(reference, candidate)
        except Exception as exc:  # noqa: BLE001
            raise OnnxUnavailable(f"ONNX model failed to run: {type(exc).__name__}: {exc}") from exc
        passed = measured["max_prob_diff"] <= tolerance
        reason = None if passed else (f"int8 model disagrees with torch: max prob diff "
                                      f"{measured['max_prob_diff']:.4f} > {tolerance}")
        (entry / META_FILE).write_text(json.dumps({**meta, "passed": passed, "agreement": measured,
                                                   "reason": reason}))
        if not passed:
            raise OnnxUnavailable(reason)
        candidate.info.update(agreement=measured, cached=False)
        return candidate
