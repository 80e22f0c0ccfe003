"""Fault bench of the Slack bot: does an acked channel message get counted exactly once, and is
every command answered, while the model service, the store or Slack fail?

Everything runs for real on 127.0.0.1: the bot (``python -m bot``, ``STORE=firestore``) over
signed HTTP, the model service (``python -m service serve``, lexicon backend by default), a
Firestore emulator started here on a free port, and the fake Slack of the test harness
(in-process: Web API and ``response_url``). A steady stream of channel message events (by
default 30 a second in three channels for about 15 s) and of slash commands (``/sentimento
<texto>`` and ``/sentimento ajuda`` every second) is sent while one fault is injected:

``model_kill``      the model service SIGKILLed, restarted on the same port 10 s later;
``model_hang``      the model service SIGSTOPped for 15 s (accepts connections, never answers);
``store_stop``      the Firestore emulator SIGSTOPped for 10 s (its data stays in memory);
``slack_429``       Slack answers 429 with ``Retry-After`` for 10 s (Web API and response_url);
``sigterm``         a burst of 100 events, then SIGTERM to the bot; a second bot on the same
                    store takes the traffic (a rolling replacement: it was started beforehand);
``duplicate``       every event delivered to two bot instances sharing the store.

Like Slack, every event that gets a non-200 answer or none within 3 s is redelivered (header
``X-Slack-Retry-Num``), up to 3 times, on Slack's schedule (at once, after 1 min, after 5 min)
scaled down 60 times. Commands are never redelivered (Slack does not retry them).

How counts are checked per event: each event's Slack ``ts`` falls on a day of its own
(day = a fixed date + the event's number in its channel), so the store's per-channel daily
tallies, read back at the end, say how many times each event was counted (labels plus
``dropped``). *lost*: accepted (some delivery got 200) and counted zero times; *doubled*:
counted more than once. Targets: lost 0, doubled 0, every command acked within 3 s and
answered (a result, the "indisponível" message, or the "busy" ack).

Usage::

    python bench/faults.py                      # every scenario, full size (a few minutes)
    python bench/faults.py --short              # the CI-sized version
    python bench/faults.py --scenario model_kill --scenario sigterm --seconds 20 --rate 50

The command line and a Markdown table are printed at the end. ``tests/integration/test_faults.py``
runs the short scenarios through :func:`run_scenarios`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import heapq
import itertools
import json
import math
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# After the sys.path line, so that ``python bench/faults.py`` runs from anywhere.
from tests.support.firestore_support import (  # pylint: disable=wrong-import-position
    EMULATOR_JAR, emulator_answers, free_port,
)
from tests.support.slack_harness import (  # pylint: disable=wrong-import-position
    BOT_TOKEN, SIGNING_SECRET, TEAM_ID, FakeSlack, SlackSender, event_callback, message_event,
    signed_headers, slash_command_body,
)

SCENARIOS = ("model_kill", "model_hang", "store_stop", "slack_429", "sigterm", "duplicate")
CHANNELS = ("C0FAULT1", "C0FAULT2", "C0FAULT3")
USERS = ("U0ANA001", "U0BETO01", "U0CAIO01", "U0DORA01")
TEXTS = (
    "Vocês são ótimos, parabéns pelo trabalho!",
    "Que serviço horrível, estou muito irritado",
    "A reunião é às quinze horas",
    "Adorei o resultado da sprint, equipe incrível",
    "O deploy falhou de novo, que semana difícil",
    "Alguém pode revisar meu código amanhã?",
)
COMMAND_TEXT = "Que dia ótimo, obrigado pela ajuda!"
ACK_TIMEOUT_S = 3.0  # Slack's wait for an answer
SLACK_RETRY_DELAYS = (0.0, 60.0, 300.0)  # Slack's redelivery schedule: at once, 1 min, 5 min
RETRY_SCALE = 1 / 60  # the bench's scale for that schedule (0 s, 1 s, 5 s)
BURST = 100  # events of the sigterm scenario's burst
FIRST_DAY = dt.date(2001, 1, 1)  # event n of a channel is counted on FIRST_DAY + n days
BUSY_WORDS = "muitos pedidos"  # bot.command.busy_message
HELP_WORDS = "Como usar"  # bot.command.help_message
RESULT_WORDS = "Classificação"  # bot.classify.views.result_message
UNAVAILABLE_WORDS = "indisponível"  # bot.classify.views.unavailable_message


# ------------------------------------------------------------------------------------ plans

@dataclass(frozen=True)
class Plan:
    """How big a run is: the stream, the faults, the patience at the end."""

    seconds: float = 15.0  # the stream lasts at least this long (longer to cover the fault)
    rate: float = 30.0  # channel message events a second, over the three channels
    fault_at: float = 2.0  # seconds into the stream the fault starts
    fault_s: dict[str, float] = field(default_factory=lambda: {
        "model_kill": 10.0, "model_hang": 15.0, "store_stop": 10.0, "slack_429": 10.0})
    settle_s: float = 90.0  # at most this long for the backlogs to drain and commands answered
    backend: str = "lexicon"  # or "tiny": the tiny random transformer of service/devmodel.py
    bot_env: dict[str, str] = field(default_factory=dict)  # extra bot settings

    def stream_seconds(self, scenario: str) -> float:
        """The stream's length: ``seconds``, or long enough to outlast the fault by 2 s."""
        return max(self.seconds, self.fault_at + self.fault_s.get(scenario, 0.0) + 2.0)


def full_plan(seconds: float = 15.0, rate: float = 30.0, backend: str = "lexicon") -> Plan:
    """The bench's default size (the faults of the issue: 10 s, 15 s, 10 s, 10 s)."""
    return Plan(seconds=seconds, rate=rate, backend=backend)


def short_plan(seconds: float = 5.0, rate: float = 10.0, backend: str = "lexicon") -> Plan:
    """The CI size: a few seconds at a low rate, faults of 3-4 s, with the bot's model and
    store timeouts scaled down with them (so that the hang and the store stop still make
    calls time out, as the full-size faults do with the default timeouts)."""
    return Plan(seconds=seconds, rate=rate, fault_at=1.0,
                fault_s={"model_kill": 3.0, "model_hang": 4.0, "store_stop": 3.0,
                         "slack_429": 3.0},
                settle_s=45.0, backend=backend,
                bot_env={"MODEL_SERVICE_TIMEOUT": "1.5", "MODEL_SERVICE_RETRIES": "1",
                         "FIRESTORE_TIMEOUT": "1.5", "SHUTDOWN_DEADLINE": "6"})


# ------------------------------------------------------------------------------------ processes

class Process:
    """A child process of the bench, its log in ``log_path``; stopped by its own pid only."""

    def __init__(self, name: str, argv: Sequence[str], env: dict[str, str], log_path: Path):
        self.name = name
        self.argv = list(argv)
        self.env = env
        self.log_path = log_path
        self.popen: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        """Start (or start again) the process."""
        with open(self.log_path, "ab") as log_file:
            self.popen = subprocess.Popen(  # pylint: disable=consider-using-with  # see stop()
                self.argv, env=self.env, cwd=ROOT, stdout=log_file, stderr=subprocess.STDOUT)

    @property
    def pid(self) -> int:
        """The process id."""
        assert self.popen is not None
        return self.popen.pid

    def alive(self) -> bool:
        """True while the process runs."""
        return self.popen is not None and self.popen.poll() is None

    def signal(self, signum: int) -> None:
        """Send ``signum`` to this process (and only to it)."""
        if self.alive():
            os.kill(self.pid, signum)

    def wait(self, timeout: float) -> int | None:
        """Its exit status, or None if it still runs after ``timeout`` seconds."""
        assert self.popen is not None
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGCONT (in case it is stopped), SIGTERM, then SIGKILL after ``timeout``."""
        if not self.alive():
            return self.popen.returncode if self.popen else None
        self.signal(signal.SIGCONT)
        self.signal(signal.SIGTERM)
        code = self.wait(timeout)
        if code is None:
            self.signal(signal.SIGKILL)
            code = self.wait(10)
        return code

    def tail(self, chars: int = 3000) -> str:
        """The end of its log."""
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-chars:]
        except OSError:
            return ""


def wait_http(url: str, process: Process, timeout: float, ok: Callable[[httpx.Response], bool]
              = lambda r: r.status_code == 200) -> None:
    """Poll ``url`` until ``ok``; RuntimeError (with the log's tail) if the process dies or
    ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if ok(httpx.get(url, timeout=1.0)):
                return
        except httpx.HTTPError:
            pass
        if not process.alive() or time.monotonic() > deadline:
            raise RuntimeError(f"{process.name} did not start ({url}):\n{process.tail()}")
        time.sleep(0.2)


def start_emulator(workdir: Path, timeout: float = 120.0) -> tuple[str, Process]:
    """A Firestore emulator (the JVM itself, so that its pid can be stopped) on a free port."""
    port = free_port()
    process = Process("firestore-emulator",
                      ["java", "-cp", EMULATOR_JAR,
                       "com.google.cloud.datastore.emulator.firestore.CloudFirestore", "start",
                       "--host=127.0.0.1", f"--port={port}"],
                      {"PATH": os.environ.get("PATH", ""), "HOME": str(workdir)},
                      workdir / "emulator.log")
    host = f"127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while not emulator_answers(host, timeout=0.5):
        if not process.alive() or time.monotonic() > deadline:
            process.stop()
            raise RuntimeError(f"the Firestore emulator did not start:\n{process.tail()}")
        time.sleep(0.3)
    return host, process


def tiny_model_dir() -> Path:
    """The tiny random XLM-RoBERTa of service/devmodel.py, built once in bench/.cache."""
    path = ROOT / "bench" / ".cache" / "tiny-xlmr"
    if not (path / "config.json").exists():
        from service.devmodel import build_model  # pylint: disable=import-outside-toplevel
        build_model(path, size="tiny", labels="cardiffnlp")
    return path


def base_env(workdir: Path) -> dict[str, str]:
    """What every child process gets: no network model downloads, a private HOME."""
    return {"PATH": os.environ.get("PATH", ""), "HOME": str(workdir), "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1", "LOG_LEVEL": "info"}


def start_service(workdir: Path, backend: str, port: int | None = None) -> tuple[str, Process]:
    """``python -m service serve`` on ``port`` (a free one by default), ready to classify."""
    port = port or free_port()
    env = {**base_env(workdir), "HOST": "127.0.0.1", "PORT": str(port)}
    if backend == "tiny":
        env.update(SENTIMENT_BACKEND="transformers", SENTIMENT_MODEL=str(tiny_model_dir()))
    else:
        env.update(SENTIMENT_BACKEND="lexicon")
    process = Process("model-service", [sys.executable, "-m", "service", "serve"], env,
                      workdir / f"service-{port}.log")
    url = f"http://127.0.0.1:{port}/"
    wait_http(url + "readyz", process, 120)
    return url, process


@dataclass
class Bot:
    """A running ``python -m bot``."""

    url: str
    process: Process

    def metrics(self) -> dict[str, float]:
        """Its ``/metrics``, summed over labels: ``{metric name: value}``."""
        text = httpx.get(self.url + "/metrics", timeout=2.0).text
        values: dict[str, float] = {}
        for line in text.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            name, _, value = line.rpartition(" ")
            values[name.split("{")[0]] = values.get(name.split("{")[0], 0.0) + float(value)
        return values

    def settled(self) -> bool:
        """True when every message it acked was counted, skipped or dropped."""
        try:
            got = self.metrics()
        except (httpx.HTTPError, ValueError):
            return not self.process.alive()
        done = sum(got.get(f"sentimento_bot_messages_{what}_total", 0.0)
                   for what in ("counted", "skipped", "dropped"))
        return done >= got.get("sentimento_bot_messages_acked_total", 0.0)


def start_bots(workdir: Path, slack: FakeSlack, store_env: dict[str, str], model_url: str,
               count: int, extra: dict[str, str]) -> list[Bot]:
    """``count`` bots on one store, started together, each ready to take events."""
    bots = []
    for _ in range(count):
        port = free_port()
        env = {**base_env(workdir), "SLACK_BOT_TOKEN": BOT_TOKEN,
               "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": slack.api_url,
               "PORT": str(port), "MODEL_SERVICE_URL": model_url, "MESSAGE_BATCH_WAIT_MS": "100",
               "FLUSH_INTERVAL": "1", **store_env, **extra}
        bots.append(Bot(f"http://127.0.0.1:{port}",
                        Process("bot", [sys.executable, "-m", "bot"], env,
                                workdir / f"bot-{port}.log")))
    for bot in bots:
        wait_http(bot.url + "/healthz", bot.process, 90)
    return bots


# ------------------------------------------------------------------------------------ traffic

@dataclass
class Attempt:
    """One delivery of an event (or of a command) and what the bot answered."""

    status: int | None  # None: no answer within ACK_TIMEOUT_S (or no connection)
    seconds: float
    body: str = ""


@dataclass
class Event:
    """One channel message event, as Slack sends it, and every delivery of it."""

    event_id: str
    channel: str
    day: str
    body: str
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        """Some delivery was answered 200: the bot promised to count it."""
        return any(a.status == 200 for a in self.attempts)


@dataclass
class Command:
    """One slash command and its ack."""

    kind: str  # "texto" or "ajuda"
    name: str  # its response_url's name on the fake Slack
    attempt: Attempt | None = None


class Scheduler:
    """Runs callables at given times on a bounded pool of threads (the senders)."""

    def __init__(self, workers: int = 64):
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="faults-send")
        self._pending = 0  # scheduled or running
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="faults-clock", daemon=True)
        self._thread.start()

    def at(self, when: float, action: Callable[[], None]) -> None:
        """Run ``action`` at monotonic time ``when`` (or now if it passed)."""
        with self._cond:
            self._pending += 1
            heapq.heappush(self._heap, (when, next(self._seq), action))
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopped and (not self._heap
                                             or self._heap[0][0] > time.monotonic()):
                    self._cond.wait(None if not self._heap
                                    else max(0.0, self._heap[0][0] - time.monotonic()))
                if self._stopped:
                    return
                _, _, action = heapq.heappop(self._heap)
            self._pool.submit(self._call, action)

    def _call(self, action: Callable[[], None]) -> None:
        try:
            action()
        finally:
            with self._cond:
                self._pending -= 1
                self._cond.notify_all()

    def idle(self, timeout: float) -> bool:
        """Wait until nothing is scheduled or running; False after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def close(self) -> None:
        """Stop the clock and the senders (what is scheduled is abandoned)."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        self._thread.join(5)
        self._pool.shutdown(wait=True, cancel_futures=True)


class Router:
    """Where Slack's requests go: one bot (``targets[0]``), or every bot (``fan_out``)."""

    def __init__(self, urls: Sequence[str], fan_out: bool = False):
        self._urls = list(urls)
        self.fan_out = fan_out
        self._lock = threading.Lock()
        self._turn = itertools.count()

    def switch(self, urls: Sequence[str]) -> None:
        """From now on, send to ``urls`` (a load balancer that stopped routing to a bot)."""
        with self._lock:
            self._urls = list(urls)

    def event_targets(self) -> list[str]:
        """The bots one event delivery goes to."""
        with self._lock:
            return list(self._urls) if self.fan_out else self._urls[:1]

    def command_target(self) -> str:
        """The bot a command goes to (in turn when there are several)."""
        with self._lock:
            return self._urls[next(self._turn) % len(self._urls)]


class Traffic:
    """Slack's side: the message stream with redeliveries, and the commands."""

    def __init__(self, slack: FakeSlack, router: Router, scale: float = RETRY_SCALE):
        self.slack = slack
        self.router = router
        self.delays = tuple(delay * scale for delay in SLACK_RETRY_DELAYS)
        self.events: list[Event] = []
        self.commands: list[Command] = []
        self.clock = Scheduler()
        self._lock = threading.Lock()
        self._per_channel = dict.fromkeys(CHANNELS, 0)
        self._numbers = itertools.count()
        self._run_id = uuid.uuid4().hex[:6].upper()
        self.client = httpx.Client(timeout=httpx.Timeout(ACK_TIMEOUT_S),
                                   limits=httpx.Limits(max_connections=256,
                                                       max_keepalive_connections=64))
        self.started = 0  # first deliveries started (the sigterm scenario waits for its burst)

    # -- building ----------------------------------------------------------------------------
    def new_event(self) -> Event:
        """The next event, on a day of its own in its channel (see the module's docstring)."""
        with self._lock:
            number = next(self._numbers)
            channel = CHANNELS[number % len(CHANNELS)]
            index = self._per_channel[channel]
            self._per_channel[channel] += 1
        day = FIRST_DAY + dt.timedelta(days=index)
        noon = dt.datetime(day.year, day.month, day.day, 15, 0, tzinfo=dt.timezone.utc)
        ts = f"{noon.timestamp() + number % 1000 / 1000:.6f}"
        event = Event(f"Ev{self._run_id}{number:06d}", channel, day.isoformat(), "")
        event.body = event_callback(message_event(TEXTS[number % len(TEXTS)],
                                                  user=USERS[number % len(USERS)],
                                                  channel=channel, ts=ts), event.event_id)
        with self._lock:
            self.events.append(event)
        return event

    # -- sending -----------------------------------------------------------------------------
    def post(self, url: str, body: str, content_type: str, retry_num: int | None = None) -> Attempt:
        """One signed POST to a bot; no answer within 3 s is an :class:`Attempt` of status None."""
        started = time.monotonic()
        try:
            response = self.client.post(url + "/slack/events", content=body.encode("utf-8"),
                                        headers=signed_headers(body, content_type,
                                                               retry_num=retry_num))
            return Attempt(response.status_code, time.monotonic() - started, response.text)
        except httpx.HTTPError:
            return Attempt(None, time.monotonic() - started)

    def deliver(self, event: Event, url: str, retry: int = 0) -> None:
        """Deliver ``event`` to ``url``; redeliver like Slack when it is not answered 200."""
        if retry == 0:
            with self._lock:
                self.started += 1
        attempt = self.post(url, event.body, SlackSender.JSON, retry or None)
        with self._lock:
            event.attempts.append(attempt)
        if attempt.status == 200 or retry >= len(self.delays):
            return
        # A redelivery goes wherever the load balancer sends it now (the same bot, or another).
        targets = self.router.event_targets()
        target = url if url in targets else targets[0]
        self.clock.at(time.monotonic() + self.delays[retry],
                      lambda: self.deliver(event, target, retry + 1))

    def send_event(self) -> Event:
        """A new event to every bot the router names (two copies in the duplicate scenario)."""
        event = self.new_event()
        for url in self.router.event_targets():
            self.deliver(event, url)
        return event

    def send_command(self, kind: str) -> None:
        """``/sentimento ajuda`` or ``/sentimento <texto>``; never redelivered."""
        command = Command(kind, f"cmd-{self._run_id}-{next(self._numbers)}")
        text = "ajuda" if kind == "ajuda" else COMMAND_TEXT
        with self._lock:
            self.commands.append(command)
        body = slash_command_body(text, self.slack.response_url(command.name),
                                  user_id=USERS[0], channel_id=CHANNELS[0])
        command.attempt = self.post(self.router.command_target(), body, SlackSender.FORM)

    def stream(self, seconds: float, rate: float,
               actions: Sequence[tuple[float, Callable[[], None]]] = ()) -> None:
        """Schedule ``seconds`` of traffic from now (``rate`` events a second, one command of
        each kind a second) and the fault ``actions`` (``(seconds from now, action)``); return
        when the stream's time is over."""
        start = time.monotonic()
        for number in range(int(seconds * rate)):
            self.clock.at(start + number / rate, self.send_event)
        for second in range(int(seconds)):
            for kind in ("texto", "ajuda"):
                self.clock.at(start + second + 0.5, lambda k=kind: self.send_command(k))
        for offset, action in actions:
            self.clock.at(start + offset, action)
        time.sleep(max(0.0, seconds - (time.monotonic() - start)))

    def burst(self, count: int) -> None:
        """``count`` events at once (on the sender threads), returning once all are sent."""
        before = self.started
        for _ in range(count):
            self.clock.at(0.0, self.send_event)
        deadline = time.monotonic() + 5
        while self.started < before + count and time.monotonic() < deadline:
            time.sleep(0.005)

    # -- outcomes ----------------------------------------------------------------------------
    def days(self) -> int:
        """How many days of the calendar the events used (the busiest channel's count)."""
        with self._lock:
            return max(self._per_channel.values())

    def answer_of(self, command: Command) -> str:
        """``help``, ``busy``, ``result``, ``unavailable``, ``error`` or ``none`` (not yet)."""
        attempt = command.attempt
        if attempt is None or attempt.status != 200:
            return "none"
        if HELP_WORDS in attempt.body:
            return "help"
        if BUSY_WORDS in attempt.body:
            return "busy"
        delivered = [json.dumps(call.params, ensure_ascii=False)
                     for call in self.slack.recorded("response", command.name) if not call.limited]
        if not delivered:
            return "none"
        return next((answer for words, answer in ((RESULT_WORDS, "result"),
                                                  (UNAVAILABLE_WORDS, "unavailable"))
                     if words in delivered[0]), "error")

    def unanswered(self) -> list[Command]:
        """Commands acked 200 whose answer has not arrived."""
        return [c for c in list(self.commands)
                if c.attempt is not None and c.attempt.status == 200 and self.answer_of(c) == "none"]

    def close(self) -> None:
        """Stop sending."""
        self.clock.close()
        self.client.close()


# ------------------------------------------------------------------------------------ results

@dataclass
class Result:  # pylint: disable=too-many-instance-attributes  # one row of the table
    """One scenario's row."""

    scenario: str
    events: int = 0
    deliveries: int = 0
    acked: int = 0  # events some delivery of which got 200
    refused: int = 0  # deliveries answered non-200 or not within 3 s
    never_acked: int = 0  # events Slack gave up on (no 200 after every retry)
    counted: int = 0  # events counted at least once (labels or dropped), read from the store
    dropped: int = 0  # of which recorded as dropped
    lost: int = 0
    doubled: int = 0
    commands: int = 0
    commands_acked: int = 0  # answered 200 within 3 s
    commands_answered: int = 0
    answers: dict[str, int] = field(default_factory=dict)
    ack_ms: dict[str, tuple[float, float]] = field(default_factory=dict)  # kind -> (p50, p99)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    lost_ids: list[str] = field(default_factory=list)
    doubled_ids: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """The targets: nothing lost or doubled, every command acked in time and answered."""
        return (self.lost == 0 and self.doubled == 0 and self.commands_acked == self.commands
                and self.commands_answered == self.commands)


def percentiles(values: Sequence[float]) -> tuple[float, float]:
    """(p50, p99) in milliseconds (nearest rank); (nan, nan) for no values."""
    if not values:
        return float("nan"), float("nan")
    ordered = sorted(values)

    def rank(q: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, int(round(q * len(ordered) + 0.5)) - 1))] * 1000

    return rank(0.50), rank(0.99)


def read_counts(store_env: dict[str, str], days: int) -> dict[tuple[str, str], tuple[int, int]]:
    """``(channel, day) -> (messages counted or dropped, of which dropped)`` over the first
    ``days`` days of the bench's calendar, read from the store as reports read it."""
    # pylint: disable=import-outside-toplevel  # the store's libraries load only when reading
    from bot.store import StoreSettings, open_store

    store = open_store(settings=StoreSettings(backend="firestore",
                                              project=store_env["GOOGLE_CLOUD_PROJECT"],
                                              emulator_host=store_env["FIRESTORE_EMULATOR_HOST"],
                                              flush_interval=0))
    try:
        last = FIRST_DAY + dt.timedelta(days=max(0, days - 1))
        return {(channel, day): (tally.total + tally.dropped, tally.dropped)
                for channel in CHANNELS
                for day, tally in store.daily_counts(TEAM_ID, channel, FIRST_DAY, last).items()}
    finally:
        store.close()


def summarize(scenario: str, traffic: Traffic, counts: dict[tuple[str, str], tuple[int, int]],
              seconds: float) -> Result:
    """Compare what was accepted with what the store counted, event by event."""
    result = Result(scenario, seconds=seconds)
    events = list(traffic.events)
    result.events = len(events)
    for event in events:
        result.deliveries += len(event.attempts)
        result.refused += sum(1 for a in event.attempts if a.status != 200)
        times, dropped = counts.get((event.channel, event.day), (0, 0))
        if times:
            result.counted += 1
            result.dropped += dropped
        if event.accepted:
            result.acked += 1
            if times == 0:
                result.lost += 1
                result.lost_ids.append(event.event_id)
        else:
            result.never_acked += 1
        if times > 1:
            result.doubled += 1
            result.doubled_ids.append(event.event_id)
    commands = list(traffic.commands)
    result.commands = len(commands)
    for command in commands:
        attempt = command.attempt
        if attempt is not None and attempt.status == 200 and attempt.seconds <= ACK_TIMEOUT_S:
            result.commands_acked += 1
        answer = traffic.answer_of(command)
        result.answers[answer] = result.answers.get(answer, 0) + 1
        if answer in ("help", "busy", "result", "unavailable"):
            result.commands_answered += 1
    answered = [a for e in events for a in e.attempts if a.status is not None]
    result.ack_ms["message"] = percentiles([a.seconds for a in answered])
    for kind in ("texto", "ajuda"):
        result.ack_ms[kind] = percentiles([c.attempt.seconds for c in commands
                                           if c.kind == kind and c.attempt is not None
                                           and c.attempt.status is not None])
    return result


# ------------------------------------------------------------------------------------ scenarios

@dataclass
class Lab:
    """What every scenario of a run shares: the emulator, the fake Slack, a work folder."""

    workdir: Path
    slack: FakeSlack
    emulator_host: str
    emulator: Process
    log: Callable[[str], None] = print

    def store_env(self, scenario: str) -> dict[str, str]:
        """A store of its own for ``scenario``: a fresh project on the shared emulator."""
        return {"STORE": "firestore", "FIRESTORE_EMULATOR_HOST": self.emulator_host,
                "GOOGLE_CLOUD_PROJECT": f"faults-{scenario.replace('_', '-')}-{uuid.uuid4().hex[:8]}"}


def _fault_actions(scenario: str, lab: Lab, plan: Plan, service: list[Process], bots: list[Bot],
                   traffic: Traffic) -> list[tuple[float, Callable[[], None]]]:
    """The fault of ``scenario`` as ``(seconds into the stream, action)``."""
    start, length = plan.fault_at, plan.fault_s.get(scenario, 0.0)
    if scenario == "model_kill":
        def restart() -> None:
            service[0].wait(5)
            service[0].start()  # same argv and environment: the same port
        return [(start, lambda: service[0].signal(signal.SIGKILL)), (start + length, restart)]
    if scenario == "model_hang":
        return [(start, lambda: service[0].signal(signal.SIGSTOP)),
                (start + length, lambda: service[0].signal(signal.SIGCONT))]
    if scenario == "store_stop":
        return [(start, lambda: lab.emulator.signal(signal.SIGSTOP)),
                (start + length, lambda: lab.emulator.signal(signal.SIGCONT))]
    if scenario == "slack_429":
        return [(start, lambda: lab.slack.rate_limit(length, retry_after=1))]
    if scenario == "sigterm":
        def burst_then_term() -> None:
            traffic.burst(BURST)
            bots[0].process.signal(signal.SIGTERM)
            traffic.router.switch([bots[1].url])
        return [(start, burst_then_term)]
    return []


def run_scenario(scenario: str, lab: Lab, plan: Plan) -> Result:
    """Start a model service and the bot(s), drive the stream with the fault, let everything
    settle, stop the bots (they flush), and read the counts back from the store."""
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; one of {', '.join(SCENARIOS)}")
    started = time.monotonic()
    store_env = lab.store_env(scenario)
    model_url, process = start_service(lab.workdir, plan.backend)
    service = [process]
    bots: list[Bot] = []
    traffic: Traffic | None = None
    notes: list[str] = []
    try:
        bots = start_bots(lab.workdir, lab.slack, store_env, model_url,
                          2 if scenario in ("sigterm", "duplicate") else 1, plan.bot_env)
        traffic = Traffic(lab.slack, Router([bots[0].url], fan_out=scenario == "duplicate"))
        if scenario == "duplicate":
            traffic.router.switch([bot.url for bot in bots])
        seconds = plan.stream_seconds(scenario)
        lab.log(f"  {scenario}: streaming {seconds:.0f} s at {plan.rate:g} events/s")
        traffic.stream(seconds, plan.rate, _fault_actions(scenario, lab, plan, service, bots, traffic))
        notes += _settle(lab, plan, traffic, bots, service)
        codes = [bot.process.stop(30) for bot in bots]
        if any(code != 0 for code in codes):
            notes.append(f"bot exit statuses {codes}")
        result = summarize(scenario, traffic, read_counts(store_env, traffic.days()),
                           time.monotonic() - started)
        result.notes = notes
    finally:
        if traffic is not None:
            traffic.close()
        for bot in bots:
            bot.process.stop()
        service[0].stop()
        lab.emulator.signal(signal.SIGCONT)
    return result


def _settle(lab: Lab, plan: Plan, traffic: Traffic, bots: list[Bot],
            service: list[Process]) -> list[str]:
    """Wait (at most ``plan.settle_s``) for the redeliveries, the backlogs and the command
    answers; what did not settle is returned as notes."""
    deadline = time.monotonic() + plan.settle_s
    notes = []
    if not traffic.clock.idle(plan.settle_s):
        notes.append("redeliveries still pending at the end")
    if not service[0].alive():
        notes.append("the model service was not running at the end")
    while time.monotonic() < deadline:
        if all(bot.settled() for bot in bots) and not traffic.unanswered():
            return notes
        time.sleep(0.25)
    if not all(bot.settled() for bot in bots):
        notes.append("a bot's backlog had not drained")
    missing = len(traffic.unanswered())
    if missing:
        notes.append(f"{missing} acked commands had no answer after {plan.settle_s:g} s")
    lab.log("  " + "; ".join(notes))
    return notes


def open_lab(workdir: Path, log: Callable[[str], None] = print) -> Lab:
    """Start the shared parts: the Firestore emulator and the fake Slack."""
    host, emulator = start_emulator(workdir)
    return Lab(workdir, FakeSlack(), host, emulator, log)


def close_lab(lab: Lab) -> None:
    """Stop the emulator and the fake Slack."""
    lab.slack.close()
    lab.emulator.stop()


def run_scenarios(scenarios: Sequence[str], plan: Plan, workdir: Path | None = None,
                  log: Callable[[str], None] = print) -> list[Result]:
    """Run ``scenarios`` one after the other on one emulator and one fake Slack."""
    with tempfile.TemporaryDirectory(prefix="sentimento-faults-") as tmp:
        lab = open_lab(Path(workdir or tmp), log)
        try:
            results = []
            for scenario in scenarios:
                log(f"scenario {scenario} ...")
                results.append(run_scenario(scenario, lab, plan))
            return results
        finally:
            close_lab(lab)


# ------------------------------------------------------------------------------------ output

def _ms(pair: tuple[float, float]) -> str:
    p50, p99 = pair
    if math.isnan(p50):  # nothing answered
        return "-"
    return f"{p50:.0f} / {p99:.0f}"


def table(results: Sequence[Result]) -> str:
    """The Markdown table of the results."""
    head = ("| scenario | events | deliveries | acked (200) | refused / no answer | "
            "counted (dropped) | lost | doubled | commands acked ≤ 3 s | commands answered | "
            "ack p50 / p99 ms: message | /sentimento texto | ajuda |")
    lines = [head, "|" + "---|" * head.count(" | ") + "---|"]
    for r in results:
        answers = ", ".join(f"{k} {v}" for k, v in sorted(r.answers.items()))
        acked = f"{r.acked}" + (f" ({r.never_acked} never)" if r.never_acked else "")
        lines.append(
            f"| {r.scenario} | {r.events} | {r.deliveries} | {acked} | {r.refused} | "
            f"{r.counted} / {r.acked} ({r.dropped}) | {r.lost} | {r.doubled} | "
            f"{r.commands_acked} / {r.commands} | {r.commands_answered} / {r.commands} "
            f"({answers}) | {_ms(r.ack_ms['message'])} | {_ms(r.ack_ms['texto'])} | "
            f"{_ms(r.ack_ms['ajuda'])} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the chosen scenarios and print the command line and the table; 1 if a target failed."""
    parser = argparse.ArgumentParser(prog="bench/faults.py", description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--scenario", action="append", choices=SCENARIOS,
                        help="run this scenario (repeatable; default: all)")
    parser.add_argument("--seconds", type=float, help="stream length (default 15, short 5)")
    parser.add_argument("--rate", type=float, help="events a second (default 30, short 10)")
    parser.add_argument("--short", action="store_true", help="the CI size")
    parser.add_argument("--backend", choices=("lexicon", "tiny"), default="lexicon")
    parser.add_argument("--workdir", type=Path, help="keep the logs here")
    args = parser.parse_args(argv)
    make = short_plan if args.short else full_plan
    sizes = {key: value for key, value in (("seconds", args.seconds), ("rate", args.rate))
             if value is not None}
    plan = make(backend=args.backend, **sizes)
    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
    results = run_scenarios(args.scenario or SCENARIOS, plan, args.workdir,
                            log=lambda line: print(line, file=sys.stderr, flush=True))
    command = " ".join(["python", "bench/faults.py", *map(shlex.quote, sys.argv[1:] if argv is None
                                                           else argv)])
    print(f"\n`{command}` ({os.cpu_count()} CPUs)\n")
    print(table(results))
    for result in results:
        for note in result.notes:
            print(f"\n- {result.scenario}: {note}")
        if result.lost_ids or result.doubled_ids:
            print(f"\n- {result.scenario}: lost {result.lost_ids[:10]}, "
                  f"doubled {result.doubled_ids[:10]}")
    return 0 if all(result.ok for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
