"""An in-memory :class:`bot.ports.TallySink`: the embedded default until a persistent store is set.

Bounded (oldest entries evicted) and with an expiry on claimed event ids, so that a long-running
bot does not grow without limit. It holds only what the interface allows: Slack ids, days,
counts and score sums. It does not survive a restart and is not shared between instances.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Callable, Sequence

from bot.ports import Observation
from service.labels import LABELS


class MemoryStore:
    """Per (team, channel, day): counts per label and sums of scores; event ids claimed once."""

    def __init__(self, event_ttl_s: float = 3600.0, max_events: int = 100_000,
                 max_days: int = 50_000, clock: Callable[[], float] = time.monotonic):
        self._event_ttl = event_ttl_s
        self._max_events = max_events
        self._max_days = max_days
        self._clock = clock
        self._events: OrderedDict[str, float] = OrderedDict()  # key -> expiry, oldest first
        self._tallies: OrderedDict[tuple[str, str, str], dict[str, float]] = OrderedDict()
        self._lock = threading.Lock()

    def claim_event(self, key: str) -> bool:
        """True the first time ``key`` is seen within the expiry, False for a redelivery."""
        now = self._clock()
        with self._lock:
            while self._events:
                oldest, expiry = next(iter(self._events.items()))
                if expiry > now and len(self._events) < self._max_events:
                    break
                del self._events[oldest]
            expiry = self._events.get(key)
            if expiry is not None and expiry > now:
                return False
            self._events[key] = now + self._event_ttl
            return True

    def record(self, observations: Sequence[Observation]) -> None:
        """Add each observation to its (team, channel, day) tally."""
        with self._lock:
            for obs in observations:
                key = (obs.team_id, obs.channel_id, obs.day)
                tally = self._tallies.get(key)
                if tally is None:
                    tally = {**{label: 0 for label in LABELS},
                             **{f"{label}_score_sum": 0.0 for label in LABELS}}
                    self._tallies[key] = tally
                    while len(self._tallies) > self._max_days:
                        self._tallies.popitem(last=False)
                tally[obs.label] += 1
                for label in LABELS:
                    tally[f"{label}_score_sum"] += float(obs.scores.get(label, 0.0))

    def tally(self, team_id: str, channel_id: str, day: str) -> dict[str, float]:
        """A copy of one day's tally (zeros when nothing was counted)."""
        with self._lock:
            found = self._tallies.get((team_id, channel_id, day))
        if found is None:
            return {**{label: 0 for label in LABELS}, **{f"{label}_score_sum": 0.0 for label in LABELS}}
        return dict(found)

    def total(self, team_id: str | None = None, channel_id: str | None = None) -> dict[str, int]:
        """Counts per label over every day, optionally for one team and channel."""
        out = {label: 0 for label in LABELS}
        with self._lock:
            for (team, channel, _day), tally in self._tallies.items():
                if team_id not in (None, team) or channel_id not in (None, channel):
                    continue
                for label in LABELS:
                    out[label] += int(tally[label])
        return out
