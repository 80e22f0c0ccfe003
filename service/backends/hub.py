"""Can the Hugging Face Hub be reached, and is a hub model already in the local cache?

Without this check, a fresh machine without hub access spends about 50 s in
``huggingface_hub``'s retries (five per file, each warning printed twice) before ``auto``
falls back to the lexicon. One HEAD request with a short timeout answers the question first:

- ``HF_HUB_OFFLINE`` set: no request at all;
- any HTTP answer from ``HF_ENDPOINT`` (even an error status): reachable;
- a connection error or no answer within :data:`PROBE_TIMEOUT_S`: unreachable.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import httpx

DEFAULT_ENDPOINT = "https://huggingface.co"
PROBE_TIMEOUT_S = 2.0
_TRUE = {"1", "on", "yes", "true"}


def looks_like_hub_id(model: str) -> bool:
    """True for ``owner/name`` or ``name`` (a hub id), False for a path that exists or is
    written as one (absolute, ``./``, ``../``, ``~``, more than one ``/``)."""
    if not model or Path(model).exists() or model.startswith((".", "/", "~")):
        return False
    return model.count("/") <= 1 and os.sep not in model.replace("/", "")


def hub_offline(environ: dict[str, str] | None = None) -> bool:
    """``HF_HUB_OFFLINE`` (or ``TRANSFORMERS_OFFLINE``) is set to a true value."""
    env = os.environ if environ is None else environ
    return any(env.get(name, "").strip().lower() in _TRUE
               for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def hub_endpoint(environ: dict[str, str] | None = None) -> str:
    """``HF_ENDPOINT``, as ``huggingface_hub`` reads it, or the public hub."""
    env = os.environ if environ is None else environ
    return (env.get("HF_ENDPOINT", "").strip() or DEFAULT_ENDPOINT).rstrip("/")


def hub_reachable(endpoint: str, timeout: float = PROBE_TIMEOUT_S) -> bool:
    """One HEAD request to ``endpoint``: any HTTP answer means the hub can be reached."""
    try:
        httpx.head(endpoint, timeout=timeout, follow_redirects=False)
    except httpx.HTTPError:
        return False
    return True


def is_cached(repo_id: str) -> bool:
    """The model's ``config.json`` is in the local ``huggingface_hub`` cache."""
    # pylint: disable=import-outside-toplevel  # only for hub ids
    from huggingface_hub import try_to_load_from_cache

    try:
        return isinstance(try_to_load_from_cache(repo_id, "config.json"), str)
    except ValueError:
        return False


@dataclass(frozen=True)
class HubAccess:
    """What loading a hub id may do: ``cached`` (in the local cache), ``online`` (the hub answers
    or was not asked because the model is not a hub id)."""

    cached: bool
    online: bool
    reason: str = ""

    @property
    def local_only(self) -> bool:
        """Load from the cache without any request (the hub cannot be reached)."""
        return not self.online


def hub_access(model: str, environ: dict[str, str] | None = None) -> HubAccess:
    """Whether ``model`` (a hub id) can be loaded, and how; at most one short HEAD request."""
    cached = is_cached(model)
    if hub_offline(environ):
        return HubAccess(cached, False, "HF_HUB_OFFLINE está definido")
    endpoint = hub_endpoint(environ)
    if not hub_reachable(endpoint):
        return HubAccess(cached, False, f"{endpoint} não respondeu em {PROBE_TIMEOUT_S:g} s")
    return HubAccess(cached, True)
