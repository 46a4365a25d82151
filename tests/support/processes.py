"""Real processes for the fault tests: a private Redis, a private PostgreSQL cluster, RQ workers
and gunicorn. Each is ours to kill and restart; the machine's own Redis and PostgreSQL are never
touched. Ports come from the 8600-8699 range."""
from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VENV_BIN = os.path.dirname(sys.executable)


def wait_for(predicate, timeout: float, interval: float = 0.2, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.3)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def stop(process: subprocess.Popen | None, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
    """Stop a process we started; then kill what is left of its session (RQ's scheduler is a
    child process that outlives a SIGKILLed worker)."""
    if process is None:
        return
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
    kill_session(process)


def kill_session(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)  # started with start_new_session: its group id is its pid
    except (ProcessLookupError, PermissionError):
        pass


class PrivateRedis:
    def __init__(self, port: int):
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> "PrivateRedis":
        self.process = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                                         "--save", "", "--appendonly", "no"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: port_open(self.port), 10, what="private redis")
        return self

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
        wait_for(lambda: not port_open(self.port), 10, what="redis to go away")


class PrivatePostgres:
    """A throwaway cluster (initdb into a temp dir, our own port, fsync off). initdb refuses
    root, so it runs as the postgres user when we are root."""

    def __init__(self, port: int):
        self.port = port
        self.dir = tempfile.mkdtemp(prefix="discuss-faults-pg-")
        self.data = os.path.join(self.dir, "data")
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
        self.bin = bins[-1] if bins else None
        self.url = f"postgresql://postgres@127.0.0.1:{port}/discuss"

    @classmethod
    def available(cls) -> bool:
        return bool(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))

    def _run(self, *args: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run(prefix + list(args), check=True, capture_output=True, timeout=60)

    def init(self) -> "PrivatePostgres":
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
        self._run(f"{self.bin}/initdb", "-D", self.data, "-A", "trust", "-U", "postgres")
        self.start()
        self._run(f"{self.bin}/createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "discuss")
        return self

    def start(self) -> None:
        self._run(f"{self.bin}/pg_ctl", "-D", self.data, "-l", os.path.join(self.dir, "log"), "-w", "-o",
                  f"-p {self.port} -k {self.dir} -c fsync=off -c listen_addresses=127.0.0.1", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run(f"{self.bin}/pg_ctl", "-D", self.data, "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        try:
            self.stop("immediate")
        except Exception:  # noqa: BLE001 - already stopped
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


def app_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {**os.environ, "DISCUSS_DATABASE_URL": database_url, "DISCUSS_SECRET_KEY": "test-secret",
           "DISCUSS_RATELIMIT_ENABLED": "0", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "PYTHONPATH": ROOT, "DISCUSS_SCORER_THREADS": "1"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.update(extra)
    return env


def model_env(tiny_detoxify) -> dict[str, str]:
    checkpoint, config_dir = tiny_detoxify
    return {"DISCUSS_TOXICITY_CHECKPOINT": checkpoint, "DISCUSS_TOXICITY_CONFIG_DIR": config_dir,
            "DISCUSS_TOXICITY_BACKEND": "torch"}


def start_worker(env: dict[str, str], log_path: str) -> subprocess.Popen:
    log = open(log_path, "ab")
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "discuss", "worker"], cwd=ROOT,
                            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def start_gunicorn(env: dict[str, str], port: int, log_path: str, workers: int = 2,
                   graceful_timeout: int = 15) -> subprocess.Popen:
    log = open(log_path, "ab")
    process = subprocess.Popen([os.path.join(VENV_BIN, "gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{port}",
                                "--graceful-timeout", str(graceful_timeout), "--timeout", "60", "wsgi:app"],
                               cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    wait_for(lambda: http("GET", port, "/healthz")[0] in (200, 503), 60, what="gunicorn")
    return process


def http(method: str, port: int, path: str, payload: dict | None = None, timeout: float = 30):
    """(status, json or None); status 0 when the connection failed (refused, reset, dropped)."""
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, _json(response.read())
    except urllib.error.HTTPError as error:
        return error.code, _json(error.read())
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError, http_client_errors()) as exc:
        return 0, {"connection_error": type(exc).__name__}


def http_client_errors():
    import http.client

    return http.client.HTTPException


def _json(raw: bytes):
    try:
        return json.loads(raw)
    except ValueError:
        return None


def worker_pids(arbiter_pid: int) -> list[int]:
    """The arbiter's children, read from /proc (no procps needed on a fresh CI machine)."""
    children = []
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            fields = open(stat).read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == arbiter_pid:
            children.append(int(stat.split("/")[2]))
    return children
