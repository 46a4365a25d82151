"""gunicorn reads this file from the working directory by itself (no flag needed).

Prometheus multiprocess mode: every worker writes its metric samples to files in
PROMETHEUS_MULTIPROC_DIR, and /metrics adds them up, so all workers are counted. The variable
must be set before the workers import the app; if the operator did not set it, a fresh
directory is made here. Stale files from an earlier run are cleared at start, and a worker's
live gauges are dropped when it exits.
"""
import glob
import os
import tempfile

# On SIGTERM (a deploy, systemd stop) gunicorn stops accepting connections and gives requests
# in flight this many seconds to finish before it kills the workers (README: Faults and
# self-healing). Longer than a post's worst case: scoring's time budget plus a database wait.
graceful_timeout = 30

if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="discuss-metrics-")


def on_starting(server):
    for stale in glob.glob(os.path.join(os.environ["PROMETHEUS_MULTIPROC_DIR"], "*.db")):
        os.remove(stale)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
