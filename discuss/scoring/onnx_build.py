"""Building the ONNX models the fast path serves (only at the first start of a new checkpoint, so the export and
quantization tooling is imported here alone): TorchScript export with the last layer cut to the first token
(first_token.py), ``onnxruntime.transformers`` fusion (Attention, SkipLayerNorm, BiasGelu; the BERT patterns also
match RoBERTa) and dynamic int8 quantization (MatMulInteger / QAttention, activations per tensor at run time).
"""
from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

from discuss.scoring import first_token


class OnnxUnavailable(Exception):
    """Export, quantization or the agreement check failed; the reason goes to status()."""


def _logits_module(model):
    """torch wrapper returning only the logits tensor, with the two inputs we feed at run time."""
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
    before = getattr(getattr(model, "config", None), "_attn_implementation", None)
    switch = before not in (None, "eager")
    if switch:
        model.set_attn_implementation("eager")
    try:
        yield
    finally:
        if switch:
            model.set_attn_implementation(before)


def export_fp32(model, path: Path) -> bool:
    """TorchScript export (fusable by ORT); the dynamo exporter if that one is unavailable. The last layer is
    exported for the first token only where that leaves the logits unchanged (first_token.py); returns whether."""
    import warnings

    import torch

    example = (torch.ones((2, 16), dtype=torch.long), torch.ones((2, 16), dtype=torch.long))
    axes = {"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"}}

    def export(dynamo: bool, **options) -> bool:
        with first_token.first_token_last_layer(model) as cut, torch.inference_mode(False), \
                torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(_logits_module(model), example, str(path), dynamo=dynamo, input_names=list(axes),
                              output_names=["logits"], **options)
        return cut

    try:
        with _eager_attention(model):
            return export(False, opset_version=17, do_constant_folding=True, dynamic_axes=axes)
    except Exception:  # noqa: BLE001 - fall back to the dynamo exporter
        from torch.export import Dim

        batch, seq = Dim("batch", max=1024), Dim("seq", max=512)
        return export(True, external_data=False, dynamic_shapes={name: {0: batch, 1: seq} for name in axes})


def fuse(source: Path, target: Path, num_heads: int = 0, hidden_size: int = 0) -> dict:
    """onnxruntime.transformers.optimizer fusion (BERT patterns also match RoBERTa). Returns fused op counts."""
    from onnxruntime.transformers import optimizer

    optimized = optimizer.optimize_model(str(source), model_type="bert", num_heads=num_heads,
                                         hidden_size=hidden_size, opt_level=0, use_gpu=False)
    stats = {k: v for k, v in optimized.get_fused_operator_statistics().items() if v}
    optimized.save_model_to_file(str(target))
    return stats


def quantize_int8(fp32_path: Path, int8_path: Path, *, per_channel: bool = True,
                  exclude: str | None = r"classifier|pooler") -> None:
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
                         nodes_to_exclude=excluded, extra_options=options)
    finally:
        for leftover in (cleared, int8_path.with_suffix(".prep.onnx")):
            leftover.unlink(missing_ok=True)


class Exports:
    """The fp32 export and its fused graph, made once per build and only when a recipe needs it (fusion failing
    only costs speed: the raw export is used instead)."""

    def __init__(self, model, work: Path):
        self.model, self.work = model, work
        self.path: Path | None = None
        self.stats: dict | None = None
        self.first_token_last_layer = False  # whether the export cut the last layer (first_token.py)

    def graph(self) -> tuple[Path, dict | None]:
        """The fused fp32 graph and its fused op counts (None when fusion failed)."""
        if self.path is None:
            raw = self.work / "model.raw.onnx"
            if not raw.exists():
                try:
                    cut = export_fp32(self.model, raw)
                    self.first_token_last_layer = bool(cut)
                except Exception as exc:  # noqa: BLE001
                    raise OnnxUnavailable(f"export failed: {type(exc).__name__}: {str(exc)[:300]}") from exc
            target = self.work / "model.fused.onnx"
            config = getattr(self.model, "config", None)
            try:
                self.stats = fuse(raw, target, getattr(config, "num_attention_heads", 0) or 0,
                                  getattr(config, "hidden_size", 0) or 0)
            except Exception:  # noqa: BLE001
                target = raw
            self.path = target
        return self.path, self.stats


def make_recipe(recipe: str, source: Path, target: Path, work: Path) -> None:
    """The recipe's model file from the fused fp32 graph: ``fp32`` is that graph, linked without writing its
    ~500 MB again (a copy where links are not allowed; the work folder is inside the cache entry); ``int8`` is
    quantized in ``work`` and moved in. The graph stays in place for any later recipe that quantizes it."""
    import shutil

    target.unlink(missing_ok=True)
    if recipe != "fp32":
        quantize_int8(source, work / target.name)
        os.replace(work / target.name, target)
        return
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
