"""`flask discuss model ...`: operator commands for the toxicity model.

``model_cli`` is registered under the ``discuss`` group by discuss/cli/group.py. It lives with the other commands
(the top layer), not in discuss/scoring: the scorer serves comments, the CLI only reports on it.
"""
from __future__ import annotations

import statistics
import time

import click
from flask import current_app
from flask.cli import AppGroup

from discuss.locales import model_language_lines
from discuss.scoring.base import ScorerState
from discuss.scoring.samples import SAMPLE_COMMENTS

model_cli = AppGroup("model", help="Check the toxicity model.")


def resident_mb() -> float:
    """This process's resident memory (VmRSS), in MB."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _loaded_service(timeout: float):
    """The app's scoring service once loaded; a fresh synchronous load if the app has scoring disabled."""
    import os

    from discuss.scoring.factory import build_loader
    from discuss.scoring.runtime import EXTENSION_KEY, ScoringService

    service = current_app.extensions.get(EXTENSION_KEY)
    if service is None or service.state is ScorerState.DISABLED:
        config = dict(current_app.config, SCORER_ENABLED=True)
        loader, description = build_loader(config, cache_dir=os.path.join(current_app.instance_path,
                                                                           "scoring-cache"))
        service = ScoringService(loader, description)
        service.start(wait=True)
        return service
    if service.state is ScorerState.LOADING:
        service.start()  # no-op if create_app already started it
        deadline = time.monotonic() + timeout
        while service.state is ScorerState.LOADING and time.monotonic() < deadline:
            time.sleep(0.05)
    return service


@model_cli.command("check")
@click.option("--timeout", default=900.0, show_default=True, help="Seconds to wait for the model to load.")
@click.option("--repeat", default=3, show_default=True, help="Timed passes over the sample comments.")
def check(timeout: float, repeat: int) -> None:
    """Load the configured model now and report labels, backend, load time, memory and speed."""
    started = time.perf_counter()
    service = _loaded_service(timeout)
    waited = time.perf_counter() - started
    config = current_app.config
    if service.state is ScorerState.LOADING:
        raise click.ClickException(f"model {service.description} still loading after {timeout:.0f}s")
    if service.state is not ScorerState.READY:
        raise click.ClickException(
            f"cannot load toxicity model {service.description}: {service.error or service.state.value}. "
            "Without network access, named models cannot fetch their weights: set DISCUSS_TOXICITY_CHECKPOINT "
            "(a Detoxify .ckpt) and DISCUSS_TOXICITY_CONFIG_DIR (its Hugging Face config + tokenizer files).")
    status = service.status()
    click.echo(f"model:          {service.description}")
    click.echo(f"labels:         {', '.join(status['labels'])}")
    for line in model_language_lines(config.get("TOXICITY_MODEL", "unbiased")):
        click.echo(line)
    click.echo(f"backend:        {status['backend'] or 'injected'}"
               f" (requested {config.get('TOXICITY_BACKEND', 'auto')})")
    if status.get("fallback_reason"):
        click.echo(f"fallback:       {status['fallback_reason']}")
    if status.get("agreement"):
        agree = status["agreement"]
        click.echo(f"agreement:      max |prob diff| {agree['max_prob_diff']:.4f}, "
                   f"max |logit diff| {agree['max_logit_diff']:.4f} vs fp32 torch on {agree['samples']} samples")
    load_seconds = status.get("load_seconds")
    click.echo(f"load time:      {load_seconds if load_seconds is not None else round(waited, 2)} s")
    click.echo(f"resident mem:   {resident_mb():.0f} MB")
    samples = list(SAMPLE_COMMENTS)
    service.score_many(samples[:2])  # warm-up
    singles: list[float] = []
    batch_times: list[float] = []
    for _ in range(max(1, repeat)):
        for text in samples:
            t0 = time.perf_counter()
            service.score(text, timeout_s=60)
            singles.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        service.score_many(samples)
        batch_times.append(time.perf_counter() - t0)
    ordered = sorted(singles)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    batch = statistics.median(batch_times)
    click.echo(f"one at a time:  p50 {statistics.median(singles) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms "
               f"per comment ({len(samples)} samples)")
    click.echo(f"batched:        {batch * 1000:.0f} ms for {len(samples)} comments "
               f"({len(samples) / batch:.1f} comments/s)")
    click.echo(f"resident mem:   {resident_mb():.0f} MB after scoring")
