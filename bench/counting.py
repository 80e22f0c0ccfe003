"""How fast one bot instance counts channel messages, and what limits it.

Drives the real :class:`bot.counting.counter.MessageCounter` in-process with a fast classifier
(the LeIA lexicon, so that the model is not the limit) and a real store (the Firestore emulator
when ``FIRESTORE_EMULATOR_HOST`` is set, else SQLite), and prints one table:

* the classifier alone (batches of 64);
* counting: pause check, event claim, classification and the buffered record, per message;
* counting with moderation watching (a third of the messages are thread replies, each one a
  thread transaction), on its own executor;

with messages per second and the time until moderation has caught up. Quote the ratios of one
run (the machine is shared and noisy).

Usage: ``.venv/bin/python bench/counting.py [--messages 3000] [--store firestore|sqlite]``
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# pylint: disable=wrong-import-position  # the project root goes on sys.path first
from slack_sdk import WebClient

from bot.classify.clients import LocalClassifier
from bot.counting.counter import MessageCounter
from bot.counting.model import PendingMessage
from bot.moderation.alerts import thread_watcher
from bot.store import StoreSettings, open_store
from service.backends.lexicon import LexiconBackend

TEXTS = ("Adorei o resultado, equipe incrível!", "Bom dia, pessoal, reunião às 15h.",
         "Parabéns pelo deploy, ficou ótimo!", "Obrigado pela ajuda com o cliente.")


def open_bench_store(kind: str, folder: str):
    """A fresh store of ``kind`` writing every 2 s, as in production."""
    if kind == "firestore":
        settings = StoreSettings(backend="firestore", project="sentimento-bench",
                                 emulator_host=os.environ["FIRESTORE_EMULATOR_HOST"])
    else:
        settings = StoreSettings(backend="sqlite", sqlite_path=f"{folder}/bench.db")
    return open_store(settings=settings)


def messages(count: int, run: str) -> list[tuple[PendingMessage, str]]:
    """``count`` positive messages in 3 channels, a third of them replies in 10 threads."""
    out = []
    for n in range(count):
        channel = f"C0BENCH{n % 3}"
        ts = f"{1_800_000_000 + n}.{n % 1_000_000:06d}"
        thread = f"{1_799_999_000 + n % 10}.000000" if n % 3 == 0 else None
        out.append((PendingMessage(team_id="T0BENCH", channel_id=channel, day="2026-11-20",
                                   text=TEXTS[n % len(TEXTS)], ts=ts, thread_ts=thread),
                    f"Ev{run}{n:07d}"))
    return out


def classifier_alone(classifier: LocalClassifier, count: int) -> float:
    """Messages per second through the classifier alone, in batches of 64."""
    texts = [TEXTS[n % len(TEXTS)] for n in range(count)]
    started = time.perf_counter()
    for start in range(0, count, 64):
        classifier.classify(texts[start:start + 64])
    return count / (time.perf_counter() - started)


def counting(classifier, store, count: int, run: str, moderation: bool) -> tuple[float, float]:
    """(messages per second counted, seconds until moderation caught up after the last count)."""
    counter = MessageCounter(classifier, store, batch_size=64, wait_ms=20)
    if moderation:
        counter.add_listener(thread_watcher(store, WebClient(base_url="http://127.0.0.1:9/")))
    batch = messages(count, run)
    started = time.perf_counter()
    for message, event_id in batch:
        while counter.offer(message, event_id) is not None:  # full: Slack would redeliver
            time.sleep(0.01)
    while counter.counted < count:
        time.sleep(0.005)
    counted_at = time.perf_counter()
    while counter.listened < count:
        time.sleep(0.005)
    caught_up = time.perf_counter() - counted_at
    counter.close(timeout=30)
    return count / (counted_at - started), caught_up


def main() -> None:
    """Run the three measurements and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--store", choices=("firestore", "sqlite"),
                        default="firestore" if os.environ.get("FIRESTORE_EMULATOR_HOST") else "sqlite")
    args = parser.parse_args()
    classifier = LocalClassifier(LexiconBackend(), max_batch_size=64)
    run = str(int(time.time()))
    with tempfile.TemporaryDirectory() as folder:
        store = open_bench_store(args.store, folder)
        try:
            alone = classifier_alone(classifier, args.messages)
            plain, _ = counting(classifier, store, args.messages, run + "a", moderation=False)
            watched, lag = counting(classifier, store, args.messages, run + "b", moderation=True)
        finally:
            store.close()
            classifier.close()
    print(f"\n`.venv/bin/python bench/counting.py --messages {args.messages} --store {args.store}`"
          f" ({os.cpu_count()} CPUs)\n")
    print("| Pipeline | messages/s | vs. classifier alone | moderation caught up after |")
    print("|---|---:|---:|---:|")
    print(f"| classifier alone (lexicon, batches of 64) | {alone:,.0f} | 1.00 | — |")
    print(f"| counting (pause check + claim + classify + record) | {plain:,.0f} | "
          f"{plain / alone:.2f} | — |")
    print(f"| counting, moderation watching (⅓ thread replies) | {watched:,.0f} | "
          f"{watched / alone:.2f} | {lag:.2f} s |")


if __name__ == "__main__":
    main()
