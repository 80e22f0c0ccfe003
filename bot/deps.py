"""What every listener may need, made once by the composition root (:func:`bot.app.build_app`)
and handed to each feature's ``register(app, deps)``: no globals anywhere else."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Callable
from zoneinfo import ZoneInfo

from bot.classify.port import Classifier
from bot.store.base import Clock, Store

Today = Callable[[], dt.date]


def today_in(timezone: ZoneInfo) -> Today:
    """A function giving today's date in the workspace's time zone."""
    return lambda: dt.datetime.now(timezone).date()


@dataclass(frozen=True)
class Deps:
    """The bot's dependencies: the classifier, the store, today's date in the workspace's time
    zone, the clock."""

    classifier: Classifier
    store: Store
    today: Today
    clock: Clock = time.time
    charts: bool = True  # post the chart image with shared reports and digests
