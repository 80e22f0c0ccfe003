"""Throughput and latency of the model service against the raw model and the original design.

Builds the full-size XLM-R base architecture with random weights (same compute as
the real model) in ``bench/.cache`` (reused when present) and prints one table:

* the raw model (forward pass only, pre-tokenized) at batch 1 and batch 16;
* the service, a real ``python -m service`` HTTP server in a subprocess, under 1
  and 32 concurrent clients sending one message per request;
* the original design: a ``pipeline`` built per request and run twice;

for 16-token and 48-token messages, then the two targets of the issue:
service at 32 clients / raw batch 16 >= 0.90, and idle single-request latency /
raw batch-1 forward <= 1.3. Runs on CUDA when available (the backend's choice).

Usage: ``.venv/bin/python bench/bench_service.py [--quick]``
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CACHE = ROOT / "bench" / ".cache"
LENGTHS = (16, 48)
CLIENTS = (1, 32)
BATCH = 16
THROUGHPUT_TARGET = 0.90
LATENCY_TARGET = 1.3

WORDS = (
    "que serviço horrível estou muito irritado vocês são ótimos parabéns pelo trabalho a reunião "
    "é às quinze horas obrigado pela ajuda não gostei do atendimento adorei o resultado equipe "
    "incrível problema no deploy de novo bom dia pessoal alguém pode revisar meu código o cliente "
    "reclamou demais excelente notícia semana difícil atraso entrega sucesso falha erro feliz "
    "triste raiva alegria cansado animado projeto prazo sprint tarefa bug teste"
).split()


def build_or_reuse(path: Path) -> Path:
    """The random full-size model, built once."""
    if not (path / "config.json").exists():
        from service.devmodel import build_model  # pylint: disable=import-outside-toplevel
        print(f"building XLM-R base with random weights in {path} ...", flush=True)
        build_model(path, size="base")
    return path


def make_messages(tokenizer, length: int, count: int, seed: int) -> list[str]:
    """``count`` distinct messages of exactly ``length`` tokens (specials included)."""
    rng = random.Random(seed)
    messages: set[str] = set()
    while len(messages) < count:
        words: list[str] = []
        while len(tokenizer(" ".join(words))["input_ids"]) < length:
            words.append(rng.choice(WORDS))
        while len(tokenizer(" ".join(words))["input_ids"]) > length and words:
            words.pop()
        for _ in range(20):
            current = len(tokenizer(" ".join(words))["input_ids"])
            if current >= length:
                break
            words.append(rng.choice(("a", "o", "e", "é", "de", "no")))
        if len(tokenizer(" ".join(words))["input_ids"]) == length:
            messages.add(" ".join(words))
    return sorted(messages)


def timed_loop(step, seconds: float, minimum: int) -> list[float]:
    """Run ``step`` until ``seconds`` have passed and at least ``minimum`` times; the durations."""
    durations = []
    started = time.perf_counter()
    while len(durations) < minimum or time.perf_counter() - started < seconds:
        begin = time.perf_counter()
        step()
        durations.append(time.perf_counter() - begin)
    return durations


class RawModel:
    """The model alone: forward passes on pre-tokenized batches, no service around it."""

    def __init__(self, model_dir: Path, messages: dict[int, list[str]]):
        # pylint: disable=import-outside-toplevel  # heavy
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        self.torch = torch
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        self.model = AutoModelForSequenceClassification.from_pretrained(model_dir).to(self.device).eval()
        self.batches = {
            (length, size): [tokenizer(texts[i:i + size], padding=True, return_tensors="pt").to(self.device)
                             for i in range(0, size * 8, size)]
            for length, texts in messages.items() for size in (1, BATCH)}

    def measure(self, length: int, batch_size: int, seconds: float) -> dict:
        """Messages per second and median forward time at this batch size."""
        batches = self.batches[(length, batch_size)]
        position = [0]

        def step():
            batch = batches[position[0] % len(batches)]
            position[0] += 1
            with self.torch.inference_mode():
                self.model(**batch)
            if self.device == "cuda":
                self.torch.cuda.synchronize()

        timed_loop(step, min(seconds / 4, 1.0), 2)  # warm-up
        durations = timed_loop(step, seconds, 3)
        return {"msg_s": batch_size * len(durations) / sum(durations),
                "p50_ms": statistics.median(durations) * 1000}


def free_port() -> int:
    """A port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Service:
    """``python -m service`` in a subprocess, as deployed."""

    def __init__(self, model_dir: Path, env: dict[str, str]):
        self.port = free_port()
        environ = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
                       SENTIMENT_MODEL=str(model_dir), SENTIMENT_BACKEND="transformers",
                       HOST="127.0.0.1", PORT=str(self.port), **env)
        environ.pop("MODEL_SERVICE_TOKEN", None)
        self.log = open(CACHE / "service.log", "w", encoding="utf-8")  # pylint: disable=consider-using-with
        self.process = subprocess.Popen(  # pylint: disable=consider-using-with  # stopped in stop()
            [sys.executable, "-m", "service"], cwd=ROOT, env=environ,
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 300
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the service exited; see {CACHE / 'service.log'}")
            try:
                status, _ = self.request("GET", "/readyz")
                if status == 200:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the service did not become ready")
            time.sleep(0.2)

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        """One request on a fresh connection."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request(method, path, body, {"Content-Type": "application/json"} if body else {})
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def batches(self) -> tuple[float, float]:
        """(number of model batches, texts in them) so far, from /metrics."""
        _, text = self.request("GET", "/metrics")
        values = {}
        for line in text.decode().splitlines():
            if line.startswith(("sentimento_batch_size_count", "sentimento_batch_size_sum")):
                name, value = line.split()
                values[name] = float(value)
        return values.get("sentimento_batch_size_count", 0.0), values.get("sentimento_batch_size_sum", 0.0)

    def measure(self, texts: list[str], clients: int, seconds: float) -> dict:
        """Steady-state throughput and latency under ``clients`` clients, with the mean batch size."""
        result = run_clients(self.port, texts, clients, seconds, warm=min(seconds / 2, 2.0),
                             probe=self.batches)
        before, after = result.pop("probes")
        result["mean_batch"] = (after[1] - before[1]) / max(after[0] - before[0], 1)
        return result

    def stop(self) -> None:
        """SIGTERM, as a platform would."""
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


class _Clients:
    """Client threads, each with a keep-alive connection sending one message per request."""

    def __init__(self, port: int, texts: list[str], clients: int):
        self.port = port
        self.bodies = [json.dumps({"texts": [text]}).encode() for text in texts]
        self.clients = clients
        self.done: list[tuple[float, float]] = []  # (finished at, latency)
        self.errors: list[int] = []
        self.start = threading.Barrier(clients + 1)
        self.stop_at = 0.0

    def client(self, index: int) -> None:
        """One client: send, wait for the answer, send the next, until ``stop_at``."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        mine = []
        self.start.wait()
        i = index
        while time.perf_counter() < self.stop_at:
            begin = time.perf_counter()
            conn.request("POST", "/v1/classify", self.bodies[i % len(self.bodies)],
                         {"Content-Type": "application/json"})
            response = conn.getresponse()
            response.read()
            end = time.perf_counter()
            if response.status != 200:
                self.errors.append(response.status)
            mine.append((end, end - begin))
            i += self.clients
        conn.close()
        self.done.extend(mine)  # one list.extend: atomic under the GIL


def run_clients(port: int, texts: list[str], clients: int, seconds: float, warm: float,
                probe=None) -> dict:
    """``clients`` concurrent clients for ``warm + seconds``.

    Only requests that finish in the last ``seconds`` count, so the result is the
    steady state, not the ramp-up. ``probe`` (if given) is called when the counted
    window opens and closes; its two results are returned under ``probes``.

    Throughput comes from Little's law for a closed loop with no think time:
    ``clients / mean latency``. Counting the requests that complete inside the window
    instead would be quantised by whole batches (16 answers land together every 0.3 to
    0.9 s here), which over a 4 s window can misstate the rate by up to 20%.
    """
    load = _Clients(port, texts, clients)
    threads = [threading.Thread(target=load.client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    load.stop_at = began + warm + seconds
    load.start.wait()
    probes = []
    if probe is not None:
        time.sleep(max(began + warm - time.perf_counter(), 0))
        probes.append(probe())
        time.sleep(max(load.stop_at - time.perf_counter(), 0))
        probes.append(probe())
    for thread in threads:
        thread.join()
    if load.errors:
        raise RuntimeError(f"{len(load.errors)} requests failed: {sorted(set(load.errors))}")
    counted = [latency for end, latency in load.done if began + warm <= end <= load.stop_at]
    return {"msg_s": clients / statistics.fmean(counted), "p50_ms": statistics.median(counted) * 1000,
            "requests": len(counted), "probes": probes}


def keep_best(results: dict, key: tuple, result: dict) -> None:
    """Keep the best of the rounds: the machine's other load only ever slows a round down."""
    best = results.get(key)
    if best is None or result["msg_s"] > best["msg_s"]:
        merged = dict(result)
        if best is not None:
            merged["p50_ms"] = min(best["p50_ms"], result["p50_ms"])
        results[key] = merged
    else:
        best["p50_ms"] = min(best["p50_ms"], result["p50_ms"])


def bench_model_and_service(model_dir: Path, messages: dict[int, list[str]], seconds: float,
                            rounds: int, env: dict) -> tuple[dict, str]:
    """Raw model and the real HTTP service (1 and 32 clients), alternating, best of ``rounds``."""
    service = Service(model_dir, env)
    raw = RawModel(model_dir, messages)
    results: dict = {}
    try:
        for length, texts in messages.items():
            run_clients(service.port, texts, 4, 1.0, 0.0)  # warm-up
        for number in range(rounds):
            for length, texts in messages.items():
                for size in (1, BATCH):
                    keep_best(results, ("raw", size, length), raw.measure(length, size, seconds))
                for clients in CLIENTS:
                    keep_best(results, ("service", clients, length),
                              service.measure(texts, clients, seconds))
            print(f"round {number + 1}/{rounds} done", flush=True)
    finally:
        service.stop()
    return results, raw.device


def bench_original(model_dir: Path, messages: dict[int, list[str]], count: int) -> dict:
    """The original design: a pipeline built for every request, the model run twice per request."""
    # pylint: disable=import-outside-toplevel  # heavy
    import torch
    from transformers import pipeline

    device = 0 if torch.cuda.is_available() else -1
    out = {}
    for length, texts in messages.items():
        durations = []
        for text in texts[:count]:
            begin = time.perf_counter()
            classifier = pipeline("sentiment-analysis", model=str(model_dir), device=device)
            _label = classifier(text)[0]["label"]
            _score = classifier(text)[0]["score"]
            durations.append(time.perf_counter() - begin)
            del classifier
        out[("original", 1, length)] = {"msg_s": len(durations) / sum(durations),
                                        "p50_ms": statistics.median(durations) * 1000}
    return out


def print_table(results: dict, info: dict, args) -> None:
    """One table plus the two target ratios."""
    rows = [("raw model, batch 1 (forward only)", ("raw", 1)),
            (f"raw model, batch {BATCH} (forward only)", ("raw", BATCH)),
            ("service, 1 client (HTTP)", ("service", 1)),
            ("service, 32 concurrent clients (HTTP)", ("service", 32)),
            ("original: pipeline per request, model run twice", ("original", 1))]
    print()
    print(f"device: {info['device']} | torch threads: {info['threads']} | cores: {os.cpu_count()} | "
          f"{platform.processor() or platform.machine()} | Python {platform.python_version()} | "
          f"MAX_BATCH_SIZE={args.max_batch_size} MAX_BATCH_WAIT_MS={args.max_batch_wait_ms} | "
          f"best of {args.rounds} round(s) of {args.seconds:g} s | load average {info['load']} | "
          f"{info['elapsed']:.0f} s{' | --quick' if args.quick else ''}")
    header = "| scenario | " + " | ".join(f"{n} tokens: msg/s | p50 ms" for n in LENGTHS) + " | mean batch |"
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for title, (kind, size) in rows:
        cells = []
        batch = []
        for length in LENGTHS:
            result = results.get((kind, size, length))
            cells.append(f"{result['msg_s']:.1f} | {result['p50_ms']:.0f}" if result else "- | -")
            if result and "mean_batch" in result:
                batch.append(f"{result['mean_batch']:.1f}")
        print(f"| {title} | " + " | ".join(cells) + f" | {' / '.join(batch) or '-'} |")
    print()
    for length in LENGTHS:
        throughput = results[("service", 32, length)]["msg_s"] / results[("raw", BATCH, length)]["msg_s"]
        latency = results[("service", 1, length)]["p50_ms"] / results[("raw", 1, length)]["p50_ms"]
        speedup = results[("service", 32, length)]["msg_s"] / results[("original", 1, length)]["msg_s"]
        print(f"{length} tokens: service@32 clients / raw batch {BATCH} = {throughput:.2f} "
              f"(target >= {THROUGHPUT_TARGET}: {'met' if throughput >= THROUGHPUT_TARGET else 'MISSED'}); "
              f"idle request latency / raw batch-1 forward = {latency:.2f} "
              f"(target <= {LATENCY_TARGET}: {'met' if latency <= LATENCY_TARGET else 'MISSED'}); "
              f"service@32 vs original: {speedup:.0f}x")


def main() -> None:
    """Parse options, run every measurement, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="shorter measurements")
    parser.add_argument("--seconds", type=float, help="seconds per measurement (default 6, quick 3)")
    parser.add_argument("--max-batch-size", default=16, type=int, help="service MAX_BATCH_SIZE")
    parser.add_argument("--max-batch-wait-ms", default=5.0, type=float, help="service MAX_BATCH_WAIT_MS")
    parser.add_argument("--rounds", type=int, help="alternating rounds, best kept (default 3, quick 1)")
    parser.add_argument("--model-dir", type=Path, default=CACHE / "xlmr-base-random")
    args = parser.parse_args()
    seconds = args.seconds or (3.0 if args.quick else 4.0)
    args.rounds = args.rounds or (1 if args.quick else 3)
    args.seconds = seconds
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    CACHE.mkdir(parents=True, exist_ok=True)
    model_dir = build_or_reuse(args.model_dir)

    from transformers import AutoTokenizer  # pylint: disable=import-outside-toplevel  # heavy
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    messages = {length: make_messages(tokenizer, length, 256, seed=length) for length in LENGTHS}

    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    results, device = bench_model_and_service(
        model_dir, messages, seconds, args.rounds,
        {"MAX_BATCH_SIZE": str(args.max_batch_size), "MAX_BATCH_WAIT_MS": str(args.max_batch_wait_ms)})
    print(f"raw model and service done ({time.perf_counter() - started:.0f} s)", flush=True)
    results.update(bench_original(model_dir, messages, 2 if args.quick else 3))
    print(f"original design done ({time.perf_counter() - started:.0f} s)", flush=True)
    import torch  # pylint: disable=import-outside-toplevel  # heavy
    info = {"device": device, "threads": torch.get_num_threads(),
            "load": f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after",
            "elapsed": time.perf_counter() - started}
    print_table(results, info, args)


if __name__ == "__main__":
    main()
