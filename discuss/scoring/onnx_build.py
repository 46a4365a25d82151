"""Building the ONNX models the fast path serves: export, graph fusion, quantization recipes.

Kept apart from ``onnx_scorer`` (which loads, checks and serves them) because only the first start of a new
checkpoint runs this, and it is the one place that imports the ONNX export and quantization tooling.
``Exports`` makes each graph once per build; ``link_or_copy`` puts one into the cache without a second copy.

- ``export_fp32``: TorchScript exporter with eager attention (ORT's fusion recognises Softmax(QK^T)V; the dynamo
  export's SDPA + IsNaN/Where pattern does not fuse); the dynamo exporter only when that one fails. The last
  layer is exported for the first token only (first_token.py: same logits, ~7% less work).
- ``fuse``: ``onnxruntime.transformers.optimizer`` (the BERT patterns also match RoBERTa): Attention,
  SkipLayerNorm, BiasGelu. ``attention=False`` leaves attention as plain MatMuls so that a weight-only quantizer
  can reach the Q/K/V projections too.
- ``quantize_int8``: dynamic int8 (MatMulInteger / QAttention): activations quantized per tensor at run time.
- ``quantize_blockwise``: 8-bit weights in blocks of 32 (MatMulNBits); with ``accuracy_level`` 4 the activations
  are quantized per block as well and the product runs on int8 instructions. A trained model's activations
  have outlier channels, which per-tensor activation scales handle badly (``bench.scoring --models trained``:
  max |dp| 0.093 for per-channel dynamic int8 on real trained weights, 0.015 block-wise).
"""
from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path
from typing import Sequence

from discuss.scoring import first_token


class OnnxUnavailable(Exception):
    """Export, quantization or the agreement check failed; the reason goes to status()."""


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


def export_fp32(model, path: Path, first_token_only: bool = True) -> bool:
    """TorchScript export (fusable by ORT); the dynamo exporter if that one is unavailable. The last layer is
    exported for the first token only where that leaves the logits unchanged (first_token.py; ``False``: the
    whole layer, for bench.first_token); returns whether it was."""
    import warnings

    import torch

    example = (torch.ones((2, 16), dtype=torch.long), torch.ones((2, 16), dtype=torch.long))
    names = dict(input_names=["input_ids", "attention_mask"], output_names=["logits"])
    try:
        with _eager_attention(model), first_token.first_token_last_layer(model, first_token_only) as cut, \
                torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(_LogitsModule(model), example, str(path), dynamo=False, opset_version=17,
                              do_constant_folding=True, **names,
                              dynamic_axes={"input_ids": {0: "batch", 1: "seq"},
                                            "attention_mask": {0: "batch", 1: "seq"}})
        return cut
    except Exception:  # noqa: BLE001 - fall back to the dynamo exporter
        pass
    from torch.export import Dim

    batch, seq = Dim("batch", max=1024), Dim("seq", max=512)
    with first_token.first_token_last_layer(model, first_token_only) as cut, torch.inference_mode(False), \
            torch.no_grad():
        torch.onnx.export(_LogitsModule(model), example, str(path), dynamo=True, verbose=False, **names,
                          dynamic_shapes={"input_ids": {0: batch, 1: seq}, "attention_mask": {0: batch, 1: seq}},
                          external_data=False)
    return cut


def fuse(source: Path, target: Path, num_heads: int = 0, hidden_size: int = 0, attention: bool = True) -> dict:
    """onnxruntime.transformers.optimizer fusion (BERT patterns also match RoBERTa). Returns fused op counts."""
    from onnxruntime.transformers import fusion_options, optimizer

    options = fusion_options.FusionOptions("bert")
    options.enable_attention = attention
    optimized = optimizer.optimize_model(str(source), model_type="bert", num_heads=num_heads,
                                         hidden_size=hidden_size, opt_level=0, use_gpu=False,
                                         optimization_options=options)
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


def quantize_blockwise(fp32_path: Path, target: Path, *, bits: int = 8, block_size: int = 32,
                       accuracy_level: int = 4) -> None:
    """Weights in ``bits``-bit blocks of ``block_size`` along the input dimension (MatMulNBits, symmetric).
    Only MatMul nodes are rewritten: the classifier head (a Gemm) stays fp32."""
    import onnx
    from onnxruntime.quantization.matmul_nbits_quantizer import (DefaultWeightOnlyQuantConfig,
                                                                 MatMulNBitsQuantizer)

    config = DefaultWeightOnlyQuantConfig(block_size=block_size, is_symmetric=True,
                                          accuracy_level=accuracy_level, bits=bits)
    quantizer = MatMulNBitsQuantizer(onnx.load(str(fp32_path)), algo_config=config)
    quantizer.process()
    quantizer.model.save_model_to_file(str(target), use_external_data_format=False)


class Exports:
    """The fp32 export and its fused graphs, each made once per build and only when a recipe needs it
    (fusion failing only costs speed: the raw export is used instead). ``first_token_only=False`` exports the
    whole last layer, for bench.first_token."""

    def __init__(self, model, work: Path, first_token_only: bool = True):
        self.model, self.work, self.first_token_only = model, work, first_token_only
        self.paths: dict[str, Path] = {}
        self.stats: dict[str, dict | None] = {}
        self.first_token_last_layer = False  # whether the export cut the last layer (first_token.py)

    def graph(self, kind: str) -> tuple[Path, dict | None]:
        if kind not in self.paths:
            raw = self.work / "model.raw.onnx"
            if not raw.exists():
                try:
                    cut = export_fp32(self.model, raw, first_token_only=self.first_token_only)
                    self.first_token_last_layer = bool(cut)
                except Exception as exc:  # noqa: BLE001
                    raise OnnxUnavailable(f"export failed: {type(exc).__name__}: {str(exc)[:300]}") from exc
            target, stats = self.work / f"model.{kind}.onnx", None
            config = getattr(self.model, "config", None)
            try:
                stats = fuse(raw, target, getattr(config, "num_attention_heads", 0) or 0,
                             getattr(config, "hidden_size", 0) or 0, attention=kind == "fused")
            except Exception:  # noqa: BLE001
                target = raw
            self.paths[kind], self.stats[kind] = target, stats
        return self.paths[kind], self.stats[kind]


def link_or_copy(source: Path, target: Path) -> None:
    """The fused fp32 graph becomes the fp32 recipe's file without writing its ~500 MB again (the work folder
    is inside the cache entry, so a hard link works; a copy where links are not allowed). The export stays
    in place for any later recipe that quantizes it."""
    import shutil

    target.unlink(missing_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
