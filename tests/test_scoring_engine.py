"""The toxicity scoring engine: real Detoxify offline, the ONNX fast path, the scoring service, the CLI.

Uses a tiny random-weight Detoxify checkpoint built once per session (a few seconds, no network).
"""
from __future__ import annotations

import os
import shutil
import threading
import time

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from discuss.scoring import ScorerState, ScoringUnavailable  # noqa: E402
from discuss.scoring import onnx_build, onnx_scorer  # noqa: E402
from discuss.scoring.base import CORE_LABELS  # noqa: E402
from discuss.scoring.factory import ScorerSettings, load_scorer  # noqa: E402
from discuss.scoring.runtime import ScoringService  # noqa: E402
from discuss.scoring.samples import SAMPLE_COMMENTS  # noqa: E402
from tests.support.scorers import FakeScorer  # noqa: E402


@pytest.fixture(scope="session")
def tiny_checkpoint(tiny_detoxify):
    """The session's tiny checkpoint (tests/conftest.py builds it once), under this module's name."""
    return tiny_detoxify


@pytest.fixture(scope="session")
def torch_scorer(tiny_checkpoint):
    from discuss.scoring.detoxify_scorer import DetoxifyScorer

    checkpoint, config_dir = tiny_checkpoint
    return DetoxifyScorer(checkpoint=checkpoint, config_dir=config_dir, threads=1)


@pytest.fixture(scope="session")
def onnx_cache(tiny_checkpoint, tmp_path_factory):
    """One default build per session, as on a CPU without native bf16 (this one): bf16 skipped, fused fp32."""
    from discuss.scoring import torch_recipes

    checkpoint, config_dir = tiny_checkpoint
    cache = tmp_path_factory.mktemp("onnx-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(torch_recipes, "native_bf16", lambda: False)
        scorer = load_scorer(ScorerSettings(checkpoint=checkpoint, config_dir=config_dir, backend="auto",
                                            threads=1, cache_dir=str(cache)))
    return cache, scorer


def settings(tiny_checkpoint, cache_dir, **overrides) -> ScorerSettings:
    checkpoint, config_dir = tiny_checkpoint
    return ScorerSettings(**{"checkpoint": checkpoint, "config_dir": config_dir, "threads": 1,
                             "cache_dir": str(cache_dir), **overrides})


# --- the real Detoxify class, offline ---------------------------------------------------------------------

def test_real_detoxify_loads_tiny_checkpoint_offline_and_scores(torch_scorer):
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert type(torch_scorer.detoxify).__module__ == "detoxify.detoxify"
    assert torch_scorer.labels == CORE_LABELS
    [scores] = torch_scorer.score_batch(["You are wonderful."])
    assert set(scores) == set(CORE_LABELS)
    assert all(0.0 <= value <= 1.0 for value in scores.values())


def test_scores_match_plain_detoxify_predict(torch_scorer):
    texts = list(SAMPLE_COMMENTS[:6])
    ours = torch_scorer.score_batch(texts)
    theirs = torch_scorer.detoxify.predict(texts)
    for i, scores in enumerate(ours):
        for label, value in scores.items():
            assert value == pytest.approx(theirs[label][i], abs=1e-5)


def test_comment_longer_than_512_tokens_is_truncated_not_crashing(torch_scorer):
    long_comment = "outrageous nonsense from the council " * 300  # ~1,500 tokens
    assert len(torch_scorer.tokenizer(long_comment)["input_ids"]) > 1200
    assert max(len(ids) for ids in torch_scorer.encode([long_comment])) == 512
    [scores] = torch_scorer.score_batch([long_comment])
    assert set(scores) == set(CORE_LABELS)


def test_batch_scores_come_back_in_input_order(torch_scorer):
    texts = ["short", "a much longer comment " * 40, "medium length comment here", "", "x " * 600]
    batched = torch_scorer.score_batch(texts)
    one_by_one = [torch_scorer.score_batch([text])[0] for text in texts]
    for got, want in zip(batched, one_by_one):
        for label in CORE_LABELS:
            assert got[label] == pytest.approx(want[label], abs=1e-4)


def test_released_unbiased_layout_scores_only_the_seven_named_classes(tmp_path):
    """The released ``unbiased`` checkpoint has 16 outputs but names 7 classes (9 identity heads follow)."""
    from tests.support.tiny_detoxify import UNBIASED_LABELS, build_checkpoint

    checkpoint, config_dir = build_checkpoint(tmp_path / "ckpt", arch="roberta", classes=UNBIASED_LABELS,
                                              outputs=16, hidden=32, layers=2, heads=2, intermediate=64,
                                              vocab_size=600, head_scale=20.0)
    for backend in ("torch", "onnx"):
        scorer = load_scorer(ScorerSettings(checkpoint=checkpoint, config_dir=config_dir, backend=backend,
                                            threads=1, cache_dir=str(tmp_path / "cache")))
        texts = list(SAMPLE_COMMENTS[:5])
        ours = scorer.score_batch(texts)
        assert scorer.labels == UNBIASED_LABELS and all(tuple(s) == UNBIASED_LABELS for s in ours)
        if backend == "torch":
            theirs = scorer.detoxify.predict(texts)  # Detoxify itself returns just the named classes
            assert set(theirs) == set(UNBIASED_LABELS)
            reference = ours
        for i, scores in enumerate(ours):
            for label, value in scores.items():
                want = theirs[label][i] if backend == "torch" else reference[i][label]
                assert value == pytest.approx(want, abs=1e-5 if backend == "torch" else 0.01)


def test_batches_are_grouped_by_length_and_bounded():
    from discuss.scoring.batching import plan_batches

    lengths = [500, 10, 12, 480, 11, 30, 490, 9]
    batches = plan_batches(lengths, max_batch=3, max_tokens=1100)
    assert sorted(i for batch in batches for i in batch) == list(range(len(lengths)))
    assert all(len(batch) <= 3 for batch in batches)
    assert all(max(lengths[i] for i in b) * len(b) <= 1100 for b in batches if len(b) > 1)
    assert [lengths[i] for i in batches[0]] == [9, 10, 11]  # shortest together


# --- ONNX fast path ---------------------------------------------------------------------------------------

def test_default_serves_fused_fp32_without_native_bf16_and_never_builds_int8(onnx_cache, torch_scorer):
    import json

    from discuss.config import Config

    _, scorer = onnx_cache
    assert onnx_scorer.DEFAULT_RECIPES == ("bf16", "fp32") == tuple(Config.TOXICITY_ONNX_RECIPES.split(","))
    assert scorer.backend == "onnx-fp32" and scorer.info["fallback_reason"] is None
    assert scorer.info["rejected"] == ["bf16 skipped: this CPU has no native bf16 matmul (torch would emulate it, "
                                       "slower than fp32)"]
    texts = list(SAMPLE_COMMENTS) + ["word " * 1300]
    assert onnx_scorer.agreement(torch_scorer, scorer, texts)["max_prob_diff"] <= 1e-4
    assert scorer.labels == torch_scorer.labels
    entry = scorer.info["onnx_cache"]
    assert not os.path.exists(os.path.join(entry, onnx_scorer.model_file("int8")))  # int8 is opt-in only
    assert set(json.load(open(os.path.join(entry, onnx_scorer.META_FILE)))["recipes"]) == {"bf16", "fp32"}


def test_onnx_export_is_fused_and_tokenized_without_transformers(onnx_cache, torch_scorer):
    _, scorer = onnx_cache
    assert scorer.info["recipe"] == "fp32"
    # ORT fusion recognised the eager-attention export; the last of the 2 layers computes the first token only
    assert scorer.info["fused"].get("Attention") == 1 and scorer.info["first_token_last_layer"] is True
    assert isinstance(scorer.tokenizer, onnx_scorer.FastTokenizer)
    texts = list(SAMPLE_COMMENTS) + ["", "word " * 1300, "Ünïcödé ‘quotes’ 😀"]
    assert scorer.encode(texts) == torch_scorer.encode(texts)  # same ids, same 512-token truncation


def test_listed_int8_is_still_checked_and_falls_to_the_exact_fp32_recipe(tiny_checkpoint, tmp_path):
    opted_in = ("int8", "fp32")  # a deployment that lists int8
    scorer = load_scorer(settings(tiny_checkpoint, tmp_path / "cache", tolerance=1e-4, recipes=opted_in))
    assert scorer.backend == "onnx-fp32" and scorer.info["fallback_reason"] is None
    assert "int8 model disagrees with torch" in scorer.info["rejected"][0]
    assert scorer.info["agreement"]["max_prob_diff"] <= 1e-4
    again = load_scorer(settings(tiny_checkpoint, tmp_path / "cache", tolerance=1e-4, recipes=opted_in))
    assert again.backend == "onnx-fp32" and again.info["cached"] is True
    # at the default 0.01 the tiny model's int8 passes its check: served from the cache, without rebuilding
    looser = load_scorer(settings(tiny_checkpoint, tmp_path / "cache", recipes=opted_in))
    assert looser.backend == "onnx-int8" and looser.info["cached"] is True


@pytest.mark.parametrize("native", [True, False])
def test_default_order_serves_bf16_where_native_and_fp32_elsewhere(tiny_checkpoint, tmp_path, monkeypatch, native):
    from discuss.scoring import torch_recipes

    monkeypatch.setattr(torch_recipes, "native_bf16", lambda: native)
    scorer = load_scorer(settings(tiny_checkpoint, tmp_path / "cache"))
    assert scorer.info["agreement"]["max_prob_diff"] <= 0.01
    assert scorer.info["agreement"]["samples"] == len(SAMPLE_COMMENTS) + 48
    if native:
        assert scorer.backend == "torch-bf16" and scorer.packed is not None and scorer.info["rejected"] is None
    else:
        assert scorer.backend == "onnx-fp32"
        assert "bf16 skipped: this CPU has no native bf16 matmul" in scorer.info["rejected"][0]


def test_unknown_or_removed_recipes_are_refused_by_name(tiny_checkpoint, tmp_path):
    for removed in ("fp16w", "int8-blk", "w8-blk"):
        with pytest.raises(RuntimeError, match=f"unknown ONNX recipe.*{removed}.*known: int8, fp32, bf16"):
            load_scorer(settings(tiny_checkpoint, tmp_path / "cache", backend="onnx", recipes=(removed,)))


def _warm_start_in_new_process(tiny_checkpoint, cache, recipes=None) -> list:
    """Load the scorer in a fresh interpreter: [backend, torch imported?, transformers imported?]."""
    import json
    import subprocess
    import sys

    checkpoint, config_dir = tiny_checkpoint
    code = ("import json, sys\n"
            "from discuss.scoring.factory import ScorerSettings, load_scorer\n"
            f"s = load_scorer(ScorerSettings(checkpoint={checkpoint!r}, config_dir={config_dir!r}, threads=1, "
            f"cache_dir={str(cache)!r}, recipes={recipes!r}))\n"
            "s.score_batch(['hello there'])\n"
            "print(json.dumps([s.backend, 'torch' in sys.modules, 'transformers' in sys.modules]))\n")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_warm_start_does_not_import_torch(onnx_cache, tiny_checkpoint):
    cache, _ = onnx_cache
    assert _warm_start_in_new_process(tiny_checkpoint, cache) == ["onnx-fp32", False, False]


def test_bf16_recipe_serves_bf16_matmuls_when_they_agree(tiny_checkpoint, tmp_path, monkeypatch, torch_scorer):
    from discuss.scoring import torch_recipes

    monkeypatch.setattr(torch_recipes, "native_bf16", lambda: True)  # any CPU runs it; natively or emulated
    scorer = load_scorer(settings(tiny_checkpoint, tmp_path / "cache", recipes=("bf16", "fp32")))
    assert scorer.backend == "torch-bf16" and scorer.info["recipe"] == "bf16"
    assert scorer.info["converted_linears"] == 2 * 6  # Q, K, V, attention output, FFN in, FFN out; head kept fp32
    assert scorer.info["agreement"]["max_prob_diff"] <= 0.01
    assert scorer.info["packed"] is True and (scorer.max_batch, scorer.max_tokens) == (16, 1024)
    texts = list(SAMPLE_COMMENTS[:6])
    for ours, reference in zip(scorer.score_batch(texts), torch_scorer.score_batch(texts)):
        assert all(abs(ours[label] - reference[label]) <= 0.01 for label in CORE_LABELS)
    again = load_scorer(settings(tiny_checkpoint, tmp_path / "cache", recipes=("bf16", "fp32")))
    assert again.backend == "torch-bf16" and again.info["cached"] is True


def test_bf16_counts_as_native_only_with_the_cpu_flag_not_onednn_emulation(monkeypatch):
    """oneDNN reports bf16 on any AVX-512 CPU, emulating it slower than fp32 where the CPU lacks AVX512-BF16."""
    from discuss.scoring import torch_recipes

    monkeypatch.setattr(torch_recipes, "cpu_flags", lambda: {"avx2", "avx512f", "avx512bw", "avx512_vnni"})
    assert torch_recipes.native_bf16() is False
    assert "no native bf16" in torch_recipes.skip_reason("bf16")


def test_a_cached_bf16_pass_is_not_served_where_bf16_is_no_longer_native(tiny_checkpoint, tmp_path, monkeypatch):
    """A cache whose bf16 verdict passed (another CPU, or the old oneDNN-only check) falls through to fp32."""
    from discuss.scoring import torch_recipes

    monkeypatch.setattr(torch_recipes, "native_bf16", lambda: True)
    assert load_scorer(settings(tiny_checkpoint, tmp_path / "cache")).backend == "torch-bf16"
    monkeypatch.setattr(torch_recipes, "native_bf16", lambda: False)
    scorer = load_scorer(settings(tiny_checkpoint, tmp_path / "cache"))
    assert scorer.backend == "onnx-fp32" and scorer.info["fallback_reason"] is None
    assert scorer.info["rejected"][0].startswith("bf16 skipped: this CPU has no native bf16 matmul")


def test_bf16_recipe_is_skipped_without_native_bf16_and_warm_starts_skip_it_without_torch(
        tiny_checkpoint, tmp_path, monkeypatch):
    from discuss.scoring import torch_recipes

    monkeypatch.setattr(torch_recipes, "native_bf16", lambda: False)
    scorer = load_scorer(settings(tiny_checkpoint, tmp_path / "cache", recipes=("bf16", "fp32")))
    assert scorer.backend == "onnx-fp32"
    assert "bf16 skipped: this CPU has no native bf16 matmul" in scorer.info["rejected"][0]
    assert _warm_start_in_new_process(tiny_checkpoint, tmp_path / "cache", ("bf16", "fp32")) == \
        ["onnx-fp32", False, False]


def test_onnx_model_is_reused_from_cache_on_next_load(onnx_cache, tiny_checkpoint):
    cache, _ = onnx_cache
    started = time.perf_counter()
    scorer = load_scorer(settings(tiny_checkpoint, cache))
    assert scorer.backend == "onnx-fp32" and scorer.info["cached"] is True
    assert time.perf_counter() - started < 5
    assert len(scorer.score_batch(["cached model works", "twice"])) == 2


def test_export_failure_falls_back_to_torch_and_says_why(tiny_checkpoint, tmp_path, monkeypatch):
    def broken_export(model, path):
        raise RuntimeError("exporter unsupported op")

    monkeypatch.setattr(onnx_build, "export_fp32", broken_export)
    scorer = load_scorer(settings(tiny_checkpoint, tmp_path / "cache"))
    assert scorer.backend == "torch"
    assert "export failed" in scorer.info["fallback_reason"]
    assert "exporter unsupported op" in scorer.info["fallback_reason"]
    service = ScoringService.from_scorer(scorer)
    assert "export failed" in service.status()["fallback_reason"]
    assert set(service.score("still scored", timeout_s=10)) == set(CORE_LABELS)


def _reuse_built_model(onnx_cache, monkeypatch):
    """Make 'export + fuse + quantize' copy the session's fused fp32 model: fast, same agreement figures."""
    cache, scorer = onnx_cache
    built = cache / os.path.basename(scorer.info["onnx_cache"]) / onnx_scorer.model_file("fp32")
    monkeypatch.setattr(onnx_build, "export_fp32", lambda model, path, **options: shutil.copy(built, path))
    monkeypatch.setattr(onnx_build, "fuse", lambda src, dst, *args, **kwargs: shutil.copy(src, dst) and None)
    monkeypatch.setattr(onnx_build, "quantize_int8", lambda src, dst, **options: shutil.copy(src, dst))


def test_disagreeing_onnx_model_falls_back_to_torch(onnx_cache, tiny_checkpoint, tmp_path, monkeypatch):
    _reuse_built_model(onnx_cache, monkeypatch)
    scorer = load_scorer(settings(tiny_checkpoint, tmp_path / "cache", tolerance=-1.0))
    assert scorer.backend == "torch"
    assert "disagrees with torch" in scorer.info["fallback_reason"]


def test_forced_onnx_backend_fails_the_load_instead_of_falling_back(tiny_checkpoint, tmp_path, monkeypatch):
    def broken_export(model, path):
        raise ValueError("no")

    monkeypatch.setattr(onnx_build, "export_fp32", broken_export)
    with pytest.raises(RuntimeError, match="TOXICITY_BACKEND=onnx"):
        load_scorer(settings(tiny_checkpoint, tmp_path / "cache", backend="onnx"))


def test_torch_backend_skips_onnx(tiny_checkpoint, tmp_path):
    scorer = load_scorer(settings(tiny_checkpoint, tmp_path / "cache", backend="torch"))
    assert scorer.backend == "torch" and scorer.info["fallback_reason"] is None
    assert not (tmp_path / "cache").exists()


# --- ScoringService ---------------------------------------------------------------------------------------

def test_service_goes_from_loading_to_ready_and_fires_ready_callbacks():
    gate = threading.Event()
    fired = []

    def loader():
        gate.wait(5)
        return FakeScorer(by_length=True)

    service = ScoringService(loader, "slow loader")
    callback_done = threading.Event()
    service.add_ready_callback(lambda: (fired.append(service.state), callback_done.set()))
    service.start()
    assert service.state is ScorerState.LOADING
    with pytest.raises(ScoringUnavailable) as info:
        service.score("too early", timeout_s=1)
    assert info.value.reason == "model_loading"
    gate.set()
    assert service.wait_ready(5)
    assert service.state is ScorerState.READY
    assert callback_done.wait(5)  # callbacks run on a thread of their own, right after ready
    assert fired == [ScorerState.READY]
    assert service.score("hello", timeout_s=5)["toxicity"] == pytest.approx(0.05)


def test_failed_load_leaves_service_failed_with_the_error():
    def loader():
        raise FileNotFoundError("no weights here")

    service = ScoringService(loader, "broken")
    service.start()
    for _ in range(100):
        if service.state is not ScorerState.LOADING:
            break
        time.sleep(0.02)
    assert service.state is ScorerState.FAILED
    assert "no weights here" in service.error
    assert service.status()["state"] == "failed"
    with pytest.raises(ScoringUnavailable) as info:
        service.score("x", timeout_s=1)
    assert info.value.reason == "model_failed"


def test_raising_scorer_gives_scoring_unavailable():
    service = ScoringService.from_scorer(FakeScorer(by_length=True, fail=True))
    with pytest.raises(ScoringUnavailable) as info:
        service.score("boom", timeout_s=2)
    assert info.value.reason == "error:RuntimeError"
    with pytest.raises(ScoringUnavailable):
        service.score_many(["a", "b"])


def test_slow_scorer_gives_timeout_within_the_callers_budget():
    service = ScoringService.from_scorer(FakeScorer(by_length=True, delay=0.5))
    started = time.perf_counter()
    with pytest.raises(ScoringUnavailable) as info:
        service.score("slow", timeout_s=0.1)
    assert info.value.reason == "timeout"
    assert time.perf_counter() - started < 0.4


def test_concurrent_posts_are_micro_batched():
    scorer = FakeScorer(by_length=True, delay=0.05)
    service = ScoringService.from_scorer(scorer, max_batch=8, window_ms=20)
    results: dict[int, dict] = {}

    def post(i: int) -> None:
        results[i] = service.score("x" * i, timeout_s=5)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(1, 13)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(results) == list(range(1, 13))
    assert all(results[i]["toxicity"] == pytest.approx(min(1.0, i / 100)) for i in results)  # right answers
    assert len(scorer.calls) < 12 and max(len(b) for b in scorer.calls) > 1
    assert max(len(b) for b in scorer.calls) <= 8
    assert service.status()["batching"]["texts"] == 12


def test_bulk_rescoring_is_chunked_and_keeps_order():
    scorer = FakeScorer(by_length=True)
    service = ScoringService.from_scorer(scorer, max_batch=4, window_ms=0)
    texts = ["y" * i for i in range(10)]
    scores = service.score_many(texts)
    assert [s["toxicity"] for s in scores] == pytest.approx([i / 100 for i in range(10)])
    assert max(len(b) for b in scorer.calls) <= 4


def test_timing_hooks_see_each_wait_and_model_call_and_a_raising_hook_never_fails_a_score():
    service = ScoringService.from_scorer(FakeScorer(by_length=True), max_batch=4, window_ms=0)
    seen: list[tuple[str, int]] = []

    def broken(kind, seconds, comments):
        raise RuntimeError("metrics backend down")

    service.add_timing_hook(broken)
    service.add_timing_hook(lambda kind, seconds, comments: seen.append((kind, comments)))
    assert service.score("hello", timeout_s=2)["toxicity"] == pytest.approx(0.05)
    service.score_many(["a"] * 6)
    assert ("interactive", 1) in seen
    assert sorted(comments for kind, comments in seen if kind == "batch") == [1, 2, 4]
    assert service.queue_depth == 0


def test_service_scores_with_the_real_tiny_model(onnx_cache):
    _, scorer = onnx_cache
    service = ScoringService.from_scorer(scorer)
    status = service.status()
    assert status["state"] == "ready" and status["backend"] == "onnx-fp32"
    assert set(service.score("A perfectly ordinary comment.", timeout_s=10)) == set(CORE_LABELS)
    assert len(service.score_many(list(SAMPLE_COMMENTS))) == len(SAMPLE_COMMENTS)


# --- `flask discuss model check` --------------------------------------------------------------------------

def _cli_app(tmp_path, **config):
    from flask import Flask

    from discuss.cli.model import model_cli
    from discuss.scoring.runtime import EXTENSION_KEY, service_from_config

    app = Flask("model-check-test", instance_path=str(tmp_path / "instance"))
    app.config.update(TOXICITY_BACKEND="auto", SCORER_THREADS=1, **config)
    app.extensions[EXTENSION_KEY] = service_from_config(app)
    app.extensions[EXTENSION_KEY].start()
    app.cli.add_command(model_cli)
    return app


def test_model_check_fails_clearly_when_nothing_can_load(tmp_path):
    app = _cli_app(tmp_path, SCORER_ENABLED=False, TOXICITY_MODEL="unbiased",
                   TOXICITY_CHECKPOINT=str(tmp_path / "missing.ckpt"))
    result = app.test_cli_runner().invoke(args=["model", "check"])
    assert result.exit_code != 0
    assert "cannot load toxicity model" in result.output
    assert "DISCUSS_TOXICITY_CHECKPOINT" in result.output


def test_model_check_reports_labels_backend_memory_and_speed(tmp_path, onnx_cache, tiny_checkpoint):
    cache, _ = onnx_cache
    checkpoint, config_dir = tiny_checkpoint
    app = _cli_app(tmp_path, TOXICITY_CHECKPOINT=checkpoint, TOXICITY_CONFIG_DIR=config_dir,
                   SCORER_CACHE_DIR=str(cache))
    result = app.test_cli_runner().invoke(args=["model", "check", "--repeat", "1"])
    assert result.exit_code == 0, result.output
    for expected in ("labels:", "toxicity", "backend:", "onnx-fp32", "load time:", "resident mem:", "comments/s",
                     "languages:      en (trained on", "ru  Русский      use DISCUSS_TOXICITY_MODEL=multilingual"):
        assert expected in result.output


def test_agreement_tolerance_is_an_operator_setting(tiny_checkpoint, tmp_path, monkeypatch):
    from discuss.config import Config

    monkeypatch.setenv("DISCUSS_SCORER_AGREEMENT_TOLERANCE", "0.0001")
    checkpoint, config_dir = tiny_checkpoint
    config = {**Config.from_env(), "TOXICITY_CHECKPOINT": checkpoint, "TOXICITY_CONFIG_DIR": config_dir,
              "SCORER_THREADS": 1, "SCORER_CACHE_DIR": str(tmp_path / "cache"), "TOXICITY_ONNX_RECIPES": "int8,fp32"}
    scorer = load_scorer(ScorerSettings.from_config(config))
    assert scorer.backend == "onnx-fp32"  # int8 (|dp| ~0.001 here) is further from fp32 than 0.0001
    monkeypatch.setenv("DISCUSS_SCORER_AGREEMENT_TOLERANCE", "lax")
    with pytest.raises(ValueError, match="DISCUSS_SCORER_AGREEMENT_TOLERANCE must be a number"):
        Config.from_env()


def test_model_loads_on_the_thread_that_scores_and_ready_callbacks_may_score():
    """torch's intra-op threads work well only from the thread torch first ran on; callbacks that score
    (automatic rescoring) must not wait on that busy thread."""
    threads = {}

    class ThreadRecordingScorer(FakeScorer):
        def score_batch(self, texts):
            threads["score"] = threading.current_thread().name
            return super().score_batch(texts)

    def loader():
        threads["load"] = threading.current_thread().name
        return ThreadRecordingScorer(by_length=True)

    service = ScoringService(loader, "threads")
    scored_in_callback = threading.Event()
    service.add_ready_callback(lambda: service.score_many(["from the callback"], timeout_s=5)
                               and scored_in_callback.set())
    service.start()
    assert service.wait_ready(5)
    assert scored_in_callback.wait(5)
    service.score("hello", timeout_s=5)
    assert threads["load"] == threads["score"] == "discuss-scorer"
