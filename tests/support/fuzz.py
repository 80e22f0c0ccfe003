"""Shared settings of the property-based (hypothesis) tests.

CI runs a bounded number of examples per property (``FUZZ_EXAMPLES``, default 200) so the
suite stays fast; set ``FUZZ_EXAMPLES=5000`` (or more) locally for a deeper search.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "200"))


def fuzz_settings(share: float = 1.0, **overrides) -> settings:
    """Hypothesis settings for ``share`` of ``FUZZ_EXAMPLES`` examples, without deadlines
    (time limits are asserted explicitly where they matter, on the best of several runs)."""
    options = {"max_examples": max(10, int(FUZZ_EXAMPLES * share)), "deadline": None,
               "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large]}
    options.update(overrides)
    return settings(**options)
