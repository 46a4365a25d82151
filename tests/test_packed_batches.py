"""Padding-free (packed) batches: the same logits as the model's own padded forward, in input order."""
from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from discuss.scoring import batching, packed, torch_recipes  # noqa: E402
from discuss.scoring.samples import SAMPLE_COMMENTS, generate_comments  # noqa: E402

ARCHES = ("bert", "roberta")


@pytest.fixture(scope="module", params=ARCHES)
def tiny_model(request, tmp_path_factory):
    """A tiny Detoxify checkpoint per architecture: bert (``original``), roberta (``unbiased``, 16 outputs)."""
    from discuss.scoring.detoxify_scorer import DetoxifyScorer
    from tests.support.tiny_detoxify import ORIGINAL_LABELS, UNBIASED_LABELS, build_checkpoint

    extra = dict(classes=UNBIASED_LABELS, outputs=16) if request.param == "roberta" else \
        dict(classes=ORIGINAL_LABELS)
    checkpoint, config_dir = build_checkpoint(tmp_path_factory.mktemp(request.param), arch=request.param,
                                              hidden=32, layers=2, heads=2, intermediate=64, vocab_size=600,
                                              head_scale=20.0, **extra)
    return DetoxifyScorer(checkpoint=checkpoint, config_dir=config_dir, threads=1)


def _mixed_lengths() -> list[str]:
    return list(SAMPLE_COMMENTS[:6]) + generate_comments(10, seed=3) + ["ok", "word " * 700]


def test_packed_forward_gives_the_padded_forward_logits_for_mixed_lengths(tiny_model):
    texts = _mixed_lengths()
    sequences = tiny_model.encode(texts)
    assert len({len(s) for s in sequences}) > 5 and max(map(len, sequences)) == tiny_model.max_length
    padded = tiny_model.logits_batch(texts, max_batch=1)
    got = packed.PackedForward(tiny_model.model).logits(sequences)[:, :len(tiny_model.labels)]
    np.testing.assert_allclose(got, padded, atol=1e-4)


def test_packed_batches_keep_input_order_and_respect_the_token_budget():
    lengths = [500, 10, 12, 480, 11, 30, 490, 9]
    batches = batching.plan_batches(lengths, max_batch=3, max_tokens=1000, packed=True)
    assert [i for batch in batches for i in batch] == list(range(len(lengths)))  # input order, no sorting
    assert all(len(batch) <= 3 for batch in batches)
    assert all(sum(lengths[i] for i in batch) <= 1000 for batch in batches)
    assert batching.plan_batches([1200, 5], max_tokens=1000, packed=True) == [[0], [1]]  # an over-long one goes alone


def test_bf16_scorer_scores_whole_batches_packed_and_agrees_with_fp32(tiny_model):
    bf16 = torch_recipes.convert("bf16", torch_recipes.copy_of(tiny_model, threads=1))
    assert bf16.packed is not None and bf16.info["packed"] is True and bf16.max_batch == 16
    texts = _mixed_lengths()
    calls = []
    forward = bf16.packed.logits
    bf16.packed.logits = lambda sequences: calls.append(len(sequences)) or forward(sequences)
    together = bf16.logits_batch(texts)
    assert calls == [16, 2]  # 18 comments: one pass of 16, one of 2; no per-comment passes
    one_by_one = np.concatenate([bf16.logits_batch([text]) for text in texts])
    np.testing.assert_allclose(together, one_by_one, atol=0.05)  # bf16 rounding differs with matrix height
    reference = batching.sigmoid(tiny_model.logits_batch(texts, max_batch=1))
    assert np.abs(batching.sigmoid(together) - reference).max() <= 0.01
    assert tiny_model.packed is None  # the fp32 reference keeps the model's own padded forward


def test_architectures_without_packed_support_keep_padded_batches():
    import transformers

    config = transformers.AlbertConfig(vocab_size=100, embedding_size=16, hidden_size=32, num_hidden_layers=1,
                                       num_attention_heads=2, intermediate_size=64, num_labels=6)
    albert = transformers.AlbertForSequenceClassification(config)
    assert not packed.supports(albert)
    with pytest.raises(ValueError, match="albert"):
        packed.PackedForward(albert)


def test_packed_matrix_heights_come_in_few_sizes_so_kernel_caches_stay_bounded():
    heights = {packed.padded_rows(tokens) for tokens in range(1, 4097)}
    assert len(heights) <= 16 + 60
    assert all(packed.padded_rows(t) >= t and packed.padded_rows(t) - t < 64 for t in range(1, 4097))
    assert packed.padded_rows(17) == 32 and packed.padded_rows(300) == 320


def test_packed_forward_matches_xlm_roberta_the_multilingual_architecture():
    """``multilingual`` is XLM-RoBERTa: built directly (no tokenizer needed), fed raw token ids."""
    import torch
    import transformers

    torch.manual_seed(0)
    config = transformers.XLMRobertaConfig(vocab_size=120, hidden_size=32, num_hidden_layers=2,
                                           num_attention_heads=2, intermediate_size=64, num_labels=7,
                                           max_position_embeddings=80, pad_token_id=1)
    model = transformers.XLMRobertaForSequenceClassification(config).eval()
    assert packed.supports(model)
    sequences = [[0, *range(5, 5 + n), 2] for n in (3, 40, 11, 1)]
    with torch.inference_mode():
        one_by_one = np.concatenate([model(input_ids=torch.tensor([seq])).logits.numpy() for seq in sequences])
    np.testing.assert_allclose(packed.PackedForward(model).logits(sequences), one_by_one, atol=1e-4)
