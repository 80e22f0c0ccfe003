"""Load bench of the Slack bot: the highest channel-message rate one bot instance sustains.

Everything runs for real on 127.0.0.1, as in ``bench/faults.py`` (whose process helpers, traffic
and fake Slack it reuses): the bot (``python -m bot``, HTTP mode, ``STORE=firestore``, its default
batching and flush settings), the model service on ONNX Runtime int8 (``python -m service``,
``SENTIMENT_RUNTIME=onnx-int8``, the full-size XLM-R base architecture with random weights exported
by ``bench/bench_service.py``'s builder, cached in ``bench/.cache``), a Firestore emulator started
here on a port of its own, and the fake Slack of the test harness (Web API and ``response_url``).

Each step sends signed channel ``message`` events at a fixed rate (a third of them thread replies)
and slash commands at a fixed rate (``/sentimento <texto>`` and ``/sentimento ajuda`` in turn) for a
fixed time, into channels of its own, then waits (at most ``--settle`` seconds) for the bot to count
what it acked. The rate steps up until a step fails. A step is **sustained** when every event was
acked 200 within 3 s, every command was acked 200 within 3 s and answered, and every acked event was
counted exactly once (the store's tallies for the step's channels, read back, equal the acks; the
bot's ``/metrics`` agree).

Per step it prints ack p50/p99 per kind (message, thread reply, ``/sentimento texto``, ``ajuda``),
event-to-tally time (from an event's ack to its count being readable in the store: the store's
tallies are polled every 0.25 s and the k-th acked event is matched with the moment the tallies
reach k), and what limits it: CPU of each process (bot, model service, emulator; the machine's
cores are shared by all three and the bench), the model's busy fraction and mean batch (service
``/metrics``), the bot's largest backlog, store and model errors (bot ``/metrics``) and Slack Web
API calls a second (the fake Slack's log).

Usage::

    .venv/bin/python bench/bot_load.py --quick            # two short steps (~2 min with the cache)
    .venv/bin/python bench/bot_load.py                    # 5, 10, 20, 40, 80... events/s, 20 s each
    .venv/bin/python bench/bot_load.py --rates 10,15,20 --seconds 30 --commands 2

Every process is stopped by its own pid at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import math
import os
import shlex
import statistics
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import httpx

ROOT = Path(__file__).resolve().parent.parent
for _path in (ROOT, ROOT / "bench"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

# pylint: disable=wrong-import-position  # after the sys.path lines: runs from anywhere
import bench_service
from bench.faults import (
    ACK_TIMEOUT_S, TEXTS, USERS, Bot, Event, Lab, Process, Router, Traffic, base_env, close_lab,
    open_lab, percentiles, start_bots, wait_http,
)
from tests.support.firestore_support import free_port
from tests.support.slack_harness import TEAM_ID, event_callback, message_event

FULL_RATES = (5.0, 10.0, 20.0, 40.0, 80.0, 160.0)
QUICK_RATES = (5.0, 20.0)
POLL_S = 0.25  # how often the store's tallies are read during a step
# The bot's own defaults (bot/settings.py, bot/store/settings.py), written out so that the bench
# measures what is deployed whatever bench/faults.py's start_bots sets for its own purposes.
BOT_DEFAULTS = {"MESSAGE_BATCH_WAIT_MS": "500", "FLUSH_INTERVAL": "2"}


# ------------------------------------------------------------------------------------ processes

def start_model_service(workdir: Path) -> tuple[str, Process]:
    """``python -m service`` on ONNX Runtime int8, the full-size random model (built and exported
    once into bench/.cache by bench_service's builder)."""
    model = bench_service.build_or_reuse(bench_service.CACHE / "xlmr-base-random")
    exported = bench_service.export_or_reuse(model, "onnx-int8")
    port = free_port()
    env = {**base_env(workdir), "HOST": "127.0.0.1", "PORT": str(port),
           "SENTIMENT_BACKEND": "transformers", "SENTIMENT_RUNTIME": "onnx-int8",
           "SENTIMENT_MODEL": str(exported)}
    process = Process("model-service", [sys.executable, "-m", "service"], env,
                      workdir / f"service-{port}.log")
    url = f"http://127.0.0.1:{port}/"
    wait_http(url + "readyz", process, 300)
    return url, process


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def metric_values(url: str) -> dict[str, float]:
    """A ``/metrics`` page summed over labels: ``{metric name: value}``."""
    values: dict[str, float] = {}
    for line in httpx.get(url + "metrics", timeout=5.0).text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, _, value = line.rpartition(" ")
        key = name.split("{")[0]
        values[key] = values.get(key, 0.0) + float(value)
    return values


# ------------------------------------------------------------------------------------ traffic

class LoadTraffic(Traffic):
    """bench/faults.py's Slack side, with thread replies, commands at a set rate, real-time
    timestamps (every event of a step counts on today's tally of its channel) and ack times."""

    def __init__(self, lab: Lab, bot: Bot, step: int):
        super().__init__(lab.slack, Router([bot.url]))
        self.channels = tuple(f"C0LOAD{step:02d}{i}" for i in range(3))
        self.kinds: dict[str, str] = {}  # event id -> "message" | "reply"
        self.acks: list[float] = []  # monotonic times of the first 200 of each event
        self._roots: dict[str, str] = {}
        self._ts = itertools.count()

    def new_event(self) -> Event:
        """The next event: a top-level message, or (every third) a reply in its channel's thread."""
        with self._lock:
            number = next(self._numbers)
            channel = self.channels[number % len(self.channels)]
            root = self._roots.get(channel) if number % 3 == 2 else None
            ts = f"{int(time.time())}.{next(self._ts) % 1_000_000:06d}"
            if root is None:
                self._roots[channel] = ts
        event = Event(f"Ev{self._run_id}{number:07d}", channel, dt.date.today().isoformat(), "")
        event.body = event_callback(message_event(TEXTS[number % len(TEXTS)],
                                                  user=USERS[number % len(USERS)], channel=channel,
                                                  ts=ts, thread_ts=root), event.event_id)
        with self._lock:
            self.events.append(event)
            self.kinds[event.event_id] = "reply" if root else "message"
        return event

    def deliver(self, event: Event, url: str, retry: int = 0) -> None:
        """Deliver (with Slack's redeliveries) and note when the event was first acked."""
        super().deliver(event, url, retry)
        if event.attempts and event.attempts[-1].status == 200:
            with self._lock:
                self.acks.append(time.monotonic())

    def run(self, seconds: float, rate: float, commands: float) -> None:
        """``rate`` events and ``commands`` commands a second for ``seconds``; returns when sent."""
        start = time.monotonic() + 0.1
        for number in range(int(seconds * rate)):
            self.clock.at(start + number / rate, self.send_event)
        for number in range(int(seconds * commands)):
            kind = ("texto", "ajuda")[number % 2]
            self.clock.at(start + (number + 0.5) / commands, lambda k=kind: self.send_command(k))
        time.sleep(max(0.0, start + seconds - time.monotonic()))


class TallyWatcher:
    """Polls the store's tallies of a step's channels; ``(monotonic time, counted)`` samples."""

    def __init__(self, store_env: dict[str, str], channels: Sequence[str]):
        # pylint: disable=import-outside-toplevel  # the store's libraries load only here
        from bot.store import StoreSettings, open_store

        self.store = open_store(settings=StoreSettings(
            backend="firestore", project=store_env["GOOGLE_CLOUD_PROJECT"],
            emulator_host=store_env["FIRESTORE_EMULATOR_HOST"], flush_interval=0))
        self.channels = tuple(channels)
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tally-watcher", daemon=True)
        self._thread.start()

    def counted(self) -> int:
        """Messages counted (labels plus dropped) in the step's channels, yesterday to tomorrow."""
        today = dt.date.today()
        return sum(tally.total + tally.dropped for channel in self.channels
                   for tally in self.store.daily_counts(TEAM_ID, channel, today - dt.timedelta(1),
                                                        today + dt.timedelta(1)).values())

    def _run(self) -> None:
        while not self._stop.wait(POLL_S):
            try:
                self.samples.append((time.monotonic(), self.counted()))
            except Exception:  # pylint: disable=broad-exception-caught  # a missed sample only
                continue

    def close(self) -> int:
        """Stop polling; the final count."""
        self._stop.set()
        self._thread.join(10)
        try:
            return self.counted()
        finally:
            self.store.close()


def tally_delays(acks: Sequence[float], samples: Sequence[tuple[float, int]]) -> list[float]:
    """Seconds from the k-th ack to the first sample whose count reaches k (FIFO matching)."""
    delays, position = [], 0
    for k, acked_at in enumerate(sorted(acks), start=1):
        while position < len(samples) and samples[position][1] < k:
            position += 1
        if position == len(samples):
            break
        delays.append(max(0.0, samples[position][0] - acked_at))
    return delays


# ------------------------------------------------------------------------------------ one step

@dataclass
class Step:  # pylint: disable=too-many-instance-attributes  # one row of the tables
    """One rate's outcome."""

    rate: float
    seconds: float
    events: int = 0
    acked: int = 0
    counted: int = 0
    bot_counted: float = 0.0  # the bot's sentimento_bot_messages_counted_total + dropped
    commands: int = 0
    commands_acked: int = 0
    commands_answered: int = 0
    ack_ms: dict[str, tuple[float, float]] = field(default_factory=dict)
    tally_s: tuple[float, float] = (float("nan"), float("nan"))
    drain_s: float = 0.0  # after the last event was sent, until everything acked was counted
    cpu: dict[str, float] = field(default_factory=dict)  # process -> % of one core
    model_busy: float = 0.0  # fraction of the step the model spent in forward passes
    mean_batch: float = 0.0
    texts_per_request: float = 0.0
    backlog_max: float = 0.0
    store_errors: float = 0.0
    model_errors: float = 0.0
    slack_calls_s: float = 0.0

    @property
    def sustained(self) -> bool:
        """Every event and command acked in time, every command answered, every ack counted once."""
        return (self.acked == self.events and self.counted == self.acked
                and self.commands_acked == self.commands == self.commands_answered)

    def why_not(self) -> str:
        """What failed, in words."""
        reasons = []
        if self.acked < self.events:
            reasons.append(f"{self.events - self.acked} events not acked 200 within 3 s")
        if self.counted != self.acked:
            reasons.append(f"counted {self.counted} of {self.acked} acked")
        if self.commands_acked < self.commands:
            reasons.append(f"{self.commands - self.commands_acked} commands not acked within 3 s")
        if self.commands_answered < self.commands:
            reasons.append(f"{self.commands - self.commands_answered} commands unanswered")
        return "; ".join(reasons) or "sustained"


@dataclass
class Rig:
    """The running processes every step shares."""

    lab: Lab
    store_env: dict[str, str]
    model_url: str
    model: Process
    bot: Bot

    def pids(self) -> dict[str, int]:
        """Process name -> pid."""
        return {"bot": self.bot.process.pid, "model": self.model.pid,
                "emulator": self.lab.emulator.pid}


class BacklogSampler:
    """Reads the bot's backlog gauge every 0.5 s; the largest value seen."""

    def __init__(self, bot: Bot):
        self.bot = bot
        self.largest = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="backlog-sampler", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            try:
                value = self.bot.metrics().get("sentimento_bot_backlog_messages", 0.0)
            except (httpx.HTTPError, ValueError):
                continue
            self.largest = max(self.largest, value)

    def close(self) -> float:
        """Stop sampling; the largest backlog seen."""
        self._stop.set()
        self._thread.join(5)
        return self.largest


@dataclass
class Counters:
    """The processes' counters at one moment."""

    cpu: dict[str, float]
    bot: dict[str, float]
    model: dict[str, float]
    slack_calls: int
    at: float

    @classmethod
    def read(cls, rig: Rig) -> "Counters":
        """Read them now."""
        return cls({name: cpu_seconds(pid) for name, pid in rig.pids().items()}, rig.bot.metrics(),
                   metric_values(rig.model_url), len(rig.lab.slack.recorded()), time.monotonic())


def run_step(rig: Rig, number: int, rate: float, seconds: float, commands: float,
             settle: float) -> Step:
    """One rate for ``seconds``, then at most ``settle`` seconds for the counts."""
    step = Step(rate, seconds)
    traffic = LoadTraffic(rig.lab, rig.bot, number)
    watcher = TallyWatcher(rig.store_env, traffic.channels)
    before = Counters.read(rig)
    sampler = BacklogSampler(rig.bot)
    try:
        traffic.run(seconds, rate, commands)
        sent = time.monotonic()
        traffic.clock.idle(settle)
        while time.monotonic() < sent + settle:
            done = watcher.samples[-1][1] if watcher.samples else 0
            if done >= len(traffic.acks) and not traffic.unanswered() and rig.bot.settled():
                break
            time.sleep(POLL_S)
        step.drain_s = time.monotonic() - sent
        after = Counters.read(rig)
        step.counted = watcher.close()
    finally:
        step.backlog_max = sampler.close()
        traffic.close()
    _fill_traffic(step, traffic, watcher)
    _fill_processes(step, before, after)
    return step


def _fill_traffic(step: Step, traffic: LoadTraffic, watcher: TallyWatcher) -> None:
    """Events, commands, acks and event-to-tally times of the step."""
    events = list(traffic.events)
    step.events = len(events)
    step.acked = sum(1 for event in events if event.accepted)
    commands = list(traffic.commands)
    step.commands = len(commands)
    step.commands_acked = sum(1 for c in commands if c.attempt is not None
                              and c.attempt.status == 200 and c.attempt.seconds <= ACK_TIMEOUT_S)
    step.commands_answered = sum(1 for c in commands if traffic.answer_of(c) in
                                 ("help", "busy", "result", "unavailable"))
    for kind in ("message", "reply"):
        step.ack_ms[kind] = percentiles([a.seconds for e in events if traffic.kinds[e.event_id] == kind
                                         for a in e.attempts if a.status is not None])
    for kind in ("texto", "ajuda"):
        step.ack_ms[kind] = percentiles([c.attempt.seconds for c in commands if c.kind == kind
                                         and c.attempt is not None and c.attempt.status is not None])
    delays = sorted(tally_delays(traffic.acks, watcher.samples))
    if delays:
        step.tally_s = (statistics.median(delays), delays[min(len(delays) - 1, int(len(delays) * 0.99))])


def _fill_processes(step: Step, before: Counters, after: Counters) -> None:
    """CPU of each process, the model's busy time and batches, the bot's errors, Slack calls."""
    elapsed = after.at - before.at

    def bot(name: str) -> float:
        return after.bot.get(name, 0.0) - before.bot.get(name, 0.0)

    def model(name: str) -> float:
        return after.model.get(name, 0.0) - before.model.get(name, 0.0)

    step.bot_counted = bot("sentimento_bot_messages_counted_total") + \
        bot("sentimento_bot_messages_dropped_total")
    step.store_errors = bot("sentimento_bot_store_errors_total")
    step.model_errors = bot("sentimento_bot_model_errors_total")
    step.cpu = {name: 100 * (after.cpu[name] - before.cpu[name]) / elapsed for name in before.cpu}
    step.model_busy = model("sentimento_batch_duration_seconds_sum") / elapsed
    step.mean_batch = model("sentimento_batch_size_sum") / max(model("sentimento_batch_size_count"), 1)
    step.texts_per_request = model("sentimento_texts_classified_total") / \
        max(model("sentimento_http_request_duration_seconds_count"), 1)
    step.slack_calls_s = (after.slack_calls - before.slack_calls) / elapsed


# ------------------------------------------------------------------------------------ output

def _ms(pair: tuple[float, float]) -> str:
    p50, p99 = pair
    return "-" if math.isnan(p50) else f"{p50:.0f} / {p99:.0f}"  # nan: nothing answered


def limit_of(step: Step, cores: int) -> str:
    """The likeliest limit, from the step's figures."""
    busiest = max(step.cpu, key=step.cpu.get)
    if sum(step.cpu.values()) >= 85 * cores:
        return f"CPU ({', '.join(f'{k} {v:.0f}%' for k, v in step.cpu.items())} of {cores} cores)"
    if step.model_busy >= 0.85:
        return "model (busy {:.0%})".format(step.model_busy)  # pylint: disable=consider-using-f-string
    if step.store_errors:
        return f"store ({step.store_errors:.0f} errors)"
    if step.cpu[busiest] >= 90:
        return f"{busiest} process (one core, {step.cpu[busiest]:.0f}%)"
    return "none reached"


def tables(steps: Sequence[Step], cores: int) -> str:
    """Both Markdown tables: acks and counts, then where the time and CPU went."""
    head = ("| events/s | events (acked) | counted (bot /metrics) | commands acked ≤ 3 s / answered "
            "| ack p50 / p99 ms: message | thread reply | /sentimento texto | ajuda "
            "| event-to-tally p50 / p99 s | drain s | sustained |")
    lines = [head, "|" + "---|" * head.count(" | ") + "---|"]
    for s in steps:
        lines.append(
            f"| {s.rate:g} | {s.events} ({s.acked}) | {s.counted} ({s.bot_counted:.0f}) | "
            f"{s.commands_acked} / {s.commands_answered} of {s.commands} | {_ms(s.ack_ms['message'])} | "
            f"{_ms(s.ack_ms['reply'])} | {_ms(s.ack_ms['texto'])} | {_ms(s.ack_ms['ajuda'])} | "
            f"{s.tally_s[0]:.1f} / {s.tally_s[1]:.1f} | {s.drain_s:.1f} | "
            f"{'yes' if s.sustained else 'NO: ' + s.why_not()} |")
    head = ("| events/s | CPU % of one core: bot / model / emulator | model busy | mean batch "
            "| texts per model request | bot backlog max | store / model errors | Slack calls/s "
            "| limit |")
    lines += ["", head, "|" + "---|" * head.count(" | ") + "---|"]
    for s in steps:
        lines.append(
            f"| {s.rate:g} | {s.cpu['bot']:.0f} / {s.cpu['model']:.0f} / {s.cpu['emulator']:.0f} | "
            f"{s.model_busy:.0%} | {s.mean_batch:.1f} | {s.texts_per_request:.1f} | "
            f"{s.backlog_max:.0f} | {s.store_errors:.0f} / {s.model_errors:.0f} | "
            f"{s.slack_calls_s:.1f} | {limit_of(s, cores)} |")
    return "\n".join(lines)


def run(rates: Sequence[float], seconds: float, commands: float, settle: float,
        workdir: Path, log=print) -> list[Step]:
    """Start everything, run the steps until one fails, stop everything (by pid)."""
    lab = open_lab(workdir, log)
    model: Process | None = None
    bot: Bot | None = None
    try:
        model_url, model = start_model_service(workdir)
        store_env = {"STORE": "firestore", "FIRESTORE_EMULATOR_HOST": lab.emulator_host,
                     "GOOGLE_CLOUD_PROJECT": f"bot-load-{uuid.uuid4().hex[:8]}"}
        bot = start_bots(workdir, lab.slack, store_env, model_url, 1, BOT_DEFAULTS)[0]
        rig = Rig(lab, store_env, model_url, model, bot)
        steps = []
        for number, rate in enumerate(rates):
            log(f"step {number + 1}: {rate:g} events/s and {commands:g} commands/s for {seconds:g} s")
            steps.append(run_step(rig, number, rate, seconds, commands, settle))
            log(f"  {steps[-1].why_not()}")
            if not steps[-1].sustained:
                break
        return steps
    finally:
        if bot is not None:
            bot.process.stop()
        if model is not None:
            model.stop()
        close_lab(lab)


def _log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse options, run the steps, print the command and both tables."""
    parser = argparse.ArgumentParser(prog="bench/bot_load.py", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help=f"rates {QUICK_RATES}, 5 s each")
    parser.add_argument("--rates", help="comma-separated events a second, in order "
                                        f"(default {', '.join(f'{r:g}' for r in FULL_RATES)})")
    parser.add_argument("--seconds", type=float, help="seconds per step (default 20, quick 5)")
    parser.add_argument("--commands", type=float, default=1.0, help="slash commands a second")
    parser.add_argument("--settle", type=float, default=30.0,
                        help="seconds after a step for its counts (default 30)")
    parser.add_argument("--workdir", type=Path, help="keep the processes' logs here")
    args = parser.parse_args(argv)
    rates = ([float(r) for r in args.rates.split(",")] if args.rates
             else list(QUICK_RATES if args.quick else FULL_RATES))
    seconds = args.seconds or (5.0 if args.quick else 20.0)
    started = time.monotonic()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="sentimento-load-") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        steps = run(rates, seconds, args.commands, args.settle, workdir, log=_log)
    command = " ".join(["python", "bench/bot_load.py",
                        *map(shlex.quote, sys.argv[1:] if argv is None else argv)])
    cores = os.cpu_count() or 1
    print(f"\n`{command}` ({cores} CPUs shared by the bench, the bot, the model service and the "
          f"emulator; load average {load:.1f} before, {os.getloadavg()[0]:.1f} after; "
          f"{time.monotonic() - started:.0f} s; bot settings {BOT_DEFAULTS})\n")
    print(tables(steps, cores))
    best = [s.rate for s in steps if s.sustained]
    print(f"\nHighest sustained: {max(best):g} events/s" if best else "\nNo step was sustained")
    return 0 if best else 1


if __name__ == "__main__":
    sys.exit(main())
