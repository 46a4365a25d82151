"""The last layer computed for the first token only: exported only where the logits stay the same."""
from __future__ import annotations

import pytest

from discuss.scoring import onnx_build

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

SIZES = dict(vocab_size=120, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
             max_position_embeddings=80)


def _model(arch: str):
    torch.manual_seed(0)
    classes = {"bert": (transformers.BertConfig, transformers.BertForSequenceClassification),
               "roberta": (transformers.RobertaConfig, transformers.RobertaForSequenceClassification),
               "xlm-roberta": (transformers.XLMRobertaConfig, transformers.XLMRobertaForSequenceClassification)}
    config_class, model_class = classes[arch]
    model = model_class(config_class(**SIZES, num_labels=7, pad_token_id=1)).eval()
    model.set_attn_implementation("eager")  # what the ONNX export runs
    return model


def _padded_batch():
    ids = torch.tensor([[0, *range(5, 40), 2], [0, *range(7, 20), 2] + [1] * 22])
    return ids, (ids != 1).long()


@pytest.mark.parametrize("arch", ["bert", "roberta", "xlm-roberta"])
def test_last_layer_for_the_first_token_only_gives_the_same_logits_on_a_padded_batch(arch):
    model = _model(arch)
    ids, mask = _padded_batch()
    with torch.no_grad():
        expected = model(input_ids=ids, attention_mask=mask).logits
    layers = model.base_model.encoder.layer
    last = layers[-1]
    with onnx_build.first_token_last_layer(model) as cut, torch.no_grad():
        assert cut is True and layers[-1] is not last
        hidden = torch.randn(2, 9, SIZES["hidden_size"])
        assert layers[-1](hidden).shape == (2, 1, SIZES["hidden_size"])  # one row per comment, not nine
        got = model(input_ids=ids, attention_mask=mask).logits
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)
    assert layers[-1] is last  # restored after the export


def test_albert_shares_its_layer_and_is_exported_whole():
    config = transformers.AlbertConfig(vocab_size=100, embedding_size=16, hidden_size=32, num_hidden_layers=2,
                                       num_attention_heads=2, intermediate_size=64, num_labels=6)
    albert = transformers.AlbertForSequenceClassification(config).eval()
    with onnx_build.first_token_last_layer(albert) as cut:
        assert cut is False


def test_a_cut_that_would_change_the_logits_is_not_applied(monkeypatch):
    model = _model("roberta")
    last = model.base_model.encoder.layer[-1]

    def wrong(layer):  # e.g. a transformers release whose layer takes its mask differently
        class Wrong(torch.nn.Module):
            def forward(self, hidden_states, *args, **kwargs):
                return torch.zeros_like(hidden_states[:, :1])
        return Wrong()

    monkeypatch.setattr(onnx_build, "_first_token_layer", wrong)
    with onnx_build.first_token_last_layer(model) as cut:
        assert cut is False and model.base_model.encoder.layer[-1] is last
