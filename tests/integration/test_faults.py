"""The fault bench's scenarios, CI-sized (``bench/faults.py --short``), through the bench's own
code: a real bot over signed HTTP, a real model service and a Firestore emulator started here,
with Slack's redeliveries. Asserted: the counts (nothing accepted is lost or counted twice, every
command acked and answered), never the times.

Skip locally with ``-m "not faults"``; ``FAULTS_LONG=1`` runs the full-size scenarios instead.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from bench.faults import Lab, close_lab, full_plan, open_lab, run_scenario, short_plan
from tests.support.firestore_support import EMULATOR_JAR

pytestmark = pytest.mark.faults

LONG = os.environ.get("FAULTS_LONG", "") not in ("", "0")
PLAN = full_plan() if LONG else short_plan()


@pytest.fixture(name="lab", scope="module")
def fault_lab(tmp_path_factory):
    """A Firestore emulator of its own (scenario store_stop SIGSTOPs its JVM by pid) and the
    fake Slack, shared by the scenarios; each scenario has its own store project."""
    if shutil.which("java") is None or not Path(EMULATOR_JAR).is_file():
        pytest.skip(f"Firestore emulator unavailable (java or {EMULATOR_JAR} missing)")
    lab = open_lab(tmp_path_factory.mktemp("faults"), log=lambda _line: None)
    yield lab
    close_lab(lab)


@pytest.mark.parametrize("scenario", ["model_kill", "model_hang", "store_stop", "slack_429",
                                      "sigterm", "duplicate"])
def test_no_acked_message_is_lost_or_doubled_and_every_command_is_answered(lab: Lab, scenario):
    """Under the fault, every event some delivery of which got 200 is counted exactly once
    (as a label or as dropped), and every command gets its answer."""
    result = run_scenario(scenario, lab, PLAN)
    logs = f"{result} (logs in {lab.workdir})"
    assert result.events > 0 and result.acked > 0, logs
    assert result.lost == 0, logs
    assert result.doubled == 0, logs
    assert result.commands > 0, logs
    assert result.commands_answered == result.commands, logs
    if scenario == "sigterm":  # the burst hit a stopping bot: redelivered to the other one
        assert result.deliveries > result.events, logs
    if scenario == "duplicate":  # every event went to both bots, and was counted once
        assert result.deliveries >= 2 * result.events, logs
