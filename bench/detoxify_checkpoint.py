"""Detoxify-format checkpoints with random weights, built offline.

``build_checkpoint`` is the general builder: bench/checkpoints.py uses it for full-size roberta-base /
bert-base stand-ins, and the test suite (tests/support/tiny_detoxify.py) for a 2-layer, hidden-32 BERT
(~100 KB) that the real ``Detoxify`` class loads in about a second. It lives under bench/ because tests may
import bench but nothing under bench/ imports tests.

Layout of a Detoxify checkpoint (see detoxify.detoxify.load_checkpoint)::

    {"config": {"arch": {"args": {model_type, model_name, tokenizer_name, num_classes}},
                "dataset": {"args": {"classes": [...]}}},
     "state_dict": model.state_dict()}

Detoxify calls ``config_class.from_pretrained(model_type)`` even when given ``huggingface_config_path``, so
``model_type`` here is the local config directory: nothing is fetched.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Sequence

UNBIASED_LABELS = ("toxicity", "severe_toxicity", "obscene", "identity_attack", "insult", "threat",
                   "sexual_explicit")
UNBIASED_IDENTITY_LABELS = ("male", "female", "homosexual_gay_or_lesbian", "christian", "jewish", "muslim",
                            "black", "white", "psychiatric_or_mental_illness")
ORIGINAL_LABELS = ("toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate")


def _corpus(lines: int = 400) -> list[str]:
    from discuss.scoring.samples import SAMPLE_COMMENTS, generate_comments

    return list(SAMPLE_COMMENTS) + generate_comments(lines, seed=11)


def train_tokenizer(arch: str, directory: Path, corpus: Iterable[str], vocab_size: int):
    """Train a tokenizer locally and wrap it in the transformers class Detoxify will load."""
    import transformers
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

    corpus = list(corpus)
    if arch == "bert":
        special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
        tok.normalizer = normalizers.BertNormalizer(lowercase=True)
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tok.decoder = decoders.WordPiece()
        tok.train_from_iterator(corpus, trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=special))
        cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
        tok.post_processor = processors.TemplateProcessing(
            single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
            special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)])
        wrapped = transformers.PreTrainedTokenizerFast(
            tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
            sep_token="[SEP]", mask_token="[MASK]", model_max_length=512)
        tokenizer_class = "BertTokenizer"
    elif arch == "roberta":
        special = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
        tok = Tokenizer(models.BPE(unk_token=None))
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        tok.train_from_iterator(corpus, trainers.BpeTrainer(
            vocab_size=vocab_size, special_tokens=special,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
        tok.post_processor = processors.RobertaProcessing(("</s>", tok.token_to_id("</s>")),
                                                          ("<s>", tok.token_to_id("<s>")))
        wrapped = transformers.PreTrainedTokenizerFast(
            tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>", sep_token="</s>",
            cls_token="<s>", pad_token="<pad>", mask_token="<mask>", model_max_length=512)
        tokenizer_class = "RobertaTokenizer"
    else:
        raise ValueError(f"unknown arch {arch!r}")
    wrapped.model_max_length = 512  # a freshly trained tokenizer never truncates otherwise
    wrapped.save_pretrained(str(directory))
    # Load it back through the class Detoxify names in the checkpoint, and save again so the files on
    # disk are exactly what that class expects (tokenizer_config.json names it).
    reloaded = getattr(transformers, tokenizer_class).from_pretrained(str(directory), local_files_only=True)
    reloaded.model_max_length = 512
    reloaded.save_pretrained(str(directory))
    return reloaded, tokenizer_class


def build_checkpoint(directory: str | os.PathLike, *, arch: str = "bert", classes: Sequence[str] = UNBIASED_LABELS,
                     hidden: int = 32, layers: int = 2, heads: int = 2, intermediate: int = 64,
                     vocab_size: int = 1000, head_scale: float = 1.0, seed: int = 0,
                     corpus_lines: int = 400, model_vocab_size: int | None = None,
                     config_overrides: dict | None = None, outputs: int | None = None) -> tuple[str, str]:
    """Build a random-weight Detoxify checkpoint; returns ``(checkpoint_path, config_dir)``.

    ``model_vocab_size`` sizes the embedding matrix like the real model's (a locally trained tokenizer has a
    smaller vocabulary; the extra rows are never indexed but count in memory). ``outputs`` is the model's
    number of logits when it differs from the named ``classes``: the released ``unbiased`` checkpoint names 7
    classes but has 16 outputs (9 identity heads), so its stand-ins do the same. ``head_scale`` multiplies the classifier's output weights so that scores spread over 0..1 instead of
    all sitting near 0.5 (random weights otherwise give near-identical scores for every comment).
    """
    import torch
    import transformers

    directory = Path(directory)
    config_dir = directory / "hf"
    config_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    tokenizer, tokenizer_class = train_tokenizer(arch, config_dir, _corpus(corpus_lines), vocab_size)
    common = dict(vocab_size=max(len(tokenizer), model_vocab_size or 0), hidden_size=hidden, num_hidden_layers=layers,
                  num_attention_heads=heads, intermediate_size=intermediate, num_labels=outputs or len(classes),
                  pad_token_id=tokenizer.pad_token_id, **(config_overrides or {}))
    if arch == "bert":
        config = transformers.BertConfig(max_position_embeddings=512, **common)
        model_class = "BertForSequenceClassification"
    else:
        # RoBERTa positions start after the padding index: 512 tokens need 514 positions.
        config = transformers.RobertaConfig(max_position_embeddings=514, bos_token_id=tokenizer.bos_token_id,
                                            eos_token_id=tokenizer.eos_token_id, **common)
        model_class = "RobertaForSequenceClassification"
    model = getattr(transformers, model_class)(config).eval()
    if head_scale != 1.0:
        with torch.no_grad():
            out_proj = model.classifier.out_proj if arch == "roberta" else model.classifier
            out_proj.weight.mul_(head_scale)
    model.config.save_pretrained(str(config_dir))  # carries num_labels: Detoxify reads this file
    checkpoint = directory / "checkpoint.ckpt"
    torch.save({"config": {"arch": {"args": {"model_type": str(config_dir), "model_name": model_class,
                                             "tokenizer_name": tokenizer_class,
                                             "num_classes": outputs or len(classes)}},
                           "dataset": {"args": {"classes": list(classes)}}},
                "state_dict": model.state_dict()}, str(checkpoint))
    return str(checkpoint), str(config_dir)

