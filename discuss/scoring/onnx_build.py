"""Building the ONNX models the fast path serves (only at the first start of a new checkpoint, so the export and
quantization tooling is imported here alone): TorchScript export with the last layer cut to the first token,
``onnxruntime.transformers`` fusion (Attention, SkipLayerNorm, BiasGelu; the BERT patterns also match RoBERTa) and
dynamic int8 quantization (MatMulInteger / QAttention, activations per tensor at run time).

The first-token cut: the classifier reads the last layer's output at <s>/[CLS] only, so that layer is exported for
the first token alone (the others give just keys and values): same logits, ~7% fewer FLOPs (bench/research).
"""
from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

from discuss.scoring import packed

HEAD_NODES = re.compile(r"classifier|pooler")  # kept fp32 in int8: their error goes straight into the logits
SAME_LOGITS = 1e-4  # the first-token cut reorders float sums only: seen ~4e-6 on roberta-base


class OnnxUnavailable(Exception):
    """Export, quantization or the agreement check failed; the reason goes to status()."""


def _first_token_layer(layer):
    """Wrap one BERT/RoBERTa layer so that it returns ``[batch, 1, hidden]``: the first token's output."""
    import torch

    class FirstTokenLayer(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, hidden_states, attention_mask=None, *args, **kwargs):
            attention, projections = self.inner.attention, self.inner.attention.self
            batch, heads = hidden_states.shape[0], projections.num_attention_heads
            size = projections.attention_head_size
            first = hidden_states[:, :1]
            query = projections.query(first).view(batch, 1, heads, size).transpose(1, 2)
            key, value = (projection(hidden_states).view(batch, -1, heads, size).transpose(1, 2)
                          for projection in (projections.key, projections.value))
            scores = torch.matmul(query, key.transpose(-1, -2)) * getattr(projections, "scaling", size ** -0.5)
            if attention_mask is not None:  # additive [batch, 1, queries, keys]; keep the first query's row
                mask = attention_mask[:, :, :1, : key.shape[-2]]
                scores = (scores.masked_fill(~mask, torch.finfo(scores.dtype).min) if mask.dtype == torch.bool
                          else scores + mask)
            context = torch.matmul(torch.softmax(scores, dim=-1), value)
            context = context.transpose(1, 2).reshape(batch, 1, heads * size)
            attended = attention.output(context, first)
            return self.inner.output(self.inner.intermediate(attended), attended)

    return FirstTokenLayer(layer).eval()


@contextlib.contextmanager
def first_token_last_layer(model):
    """Within the block ``model``'s last layer computes only the first token, if that leaves its logits
    unchanged (checked on a padded batch of two). Yields whether the cut is in place. Only for the encoders
    packed batches run, whose layers are distinct with .attention.self.{query,key,value} (not ALBERT's)."""
    if not packed.supports(model):
        yield False
        return
    import torch

    layers = getattr(model, model.base_model_prefix).encoder.layer
    last = layers[-1]
    ids = torch.randint(5, max(6, model.config.vocab_size), (2, 12), generator=torch.Generator().manual_seed(3))
    mask = torch.ones_like(ids)
    mask[1, 7:] = 0
    with torch.no_grad():
        expected = model(input_ids=ids, attention_mask=mask)[0]
        layers[-1] = _first_token_layer(last)
        try:
            same = bool((model(input_ids=ids, attention_mask=mask)[0] - expected).abs().max() <= SAME_LOGITS)
        except Exception:  # noqa: BLE001 - an encoder whose layer call differs: export it whole
            same = False
    if not same:
        layers[-1] = last
    try:
        yield same
    finally:
        layers[-1] = last


def export_fp32(model, path: Path) -> bool:
    """TorchScript export (fusable by ORT; torch's default, the dynamo exporter, is not asked for) of the two
    inputs we feed, given positionally, and the logits, the only output that is not None. The last layer is
    exported for the first token only where that leaves the logits unchanged; returns whether."""
    import warnings

    import torch

    example = (torch.ones((2, 16), dtype=torch.long), torch.ones((2, 16), dtype=torch.long))
    axes = {"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"}}
    attention = model.config._attn_implementation
    model.set_attn_implementation("eager")  # Softmax(QK^T)V: ORT's fusion recognises it, not the SDPA export
    try:
        with first_token_last_layer(model) as cut, torch.inference_mode(False), torch.no_grad(), \
                warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, example, str(path), dynamo=False, input_names=list(axes),
                              output_names=["logits"], opset_version=17, do_constant_folding=True, dynamic_axes=axes)
    finally:
        model.set_attn_implementation(attention)
    return cut


def fuse(source: Path, target: Path, num_heads: int, hidden_size: int) -> dict:
    """onnxruntime.transformers.optimizer fusion (BERT patterns also match RoBERTa). Returns fused op counts."""
    from onnxruntime.transformers import optimizer

    optimized = optimizer.optimize_model(str(source), model_type="bert", num_heads=num_heads,
                                         hidden_size=hidden_size, opt_level=0, use_gpu=False)
    stats = {k: v for k, v in optimized.get_fused_operator_statistics().items() if v}
    optimized.save_model_to_file(str(target))
    return stats


def quantize_int8(fp32_path: Path, int8_path: Path) -> None:
    """Dynamic int8 (QInt8 weights, per channel), with the classifier head kept fp32 (HEAD_NODES)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    source, prepped = fp32_path, int8_path.with_suffix(".prep.onnx")
    try:  # shape inference + graph cleanup: required for weight-shared models (ALBERT), harmless otherwise
        from onnxruntime.quantization.shape_inference import quant_pre_process

        quant_pre_process(str(fp32_path), str(prepped), skip_symbolic_shape=True)
        source = prepped
    except Exception:  # noqa: BLE001 - pre-processing is an optimisation, not a requirement
        pass
    excluded = [node.name for node in onnx.load(str(source)).graph.node if HEAD_NODES.search(node.name)]
    excluded += [name + "_MatMul" for name in excluded]  # Gemm is rewritten to <name>_MatMul first
    options = {"DefaultTensorType": onnx.TensorProto.FLOAT}  # fused contrib ops have no inferred types
    try:
        quantize_dynamic(str(source), str(int8_path), weight_type=QuantType.QInt8, per_channel=True,
                         nodes_to_exclude=excluded, extra_options=options)
    finally:
        prepped.unlink(missing_ok=True)


def export_and_fuse(model, work: Path) -> tuple[Path, dict | None, bool]:
    """The fp32 export fused in ``work``: (its path, its fused op counts, whether the last layer was cut). Fusion
    failing only costs speed: then the raw export and None."""
    raw, fused = work / "model.raw.onnx", work / "model.fused.onnx"
    try:
        cut = bool(export_fp32(model, raw))
    except Exception as exc:  # noqa: BLE001
        raise OnnxUnavailable(f"export failed: {type(exc).__name__}: {str(exc)[:300]}") from exc
    try:
        return fused, fuse(raw, fused, model.config.num_attention_heads, model.config.hidden_size), cut
    except Exception:  # noqa: BLE001
        return raw, None, cut


def make_recipe(recipe: str, source: Path, target: Path) -> None:
    """The recipe's model file from the fused fp32 graph, which stays in place for any later recipe: ``fp32``
    links it (no second ~500 MB write; a copy where links fail), ``int8`` is quantized beside it and moved in."""
    import shutil

    target.unlink(missing_ok=True)
    if recipe != "fp32":
        quantize_int8(source, source.parent / target.name)
        os.replace(source.parent / target.name, target)
        return
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
