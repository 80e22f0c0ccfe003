"""A fresh machine without hub access, as a new user tries it: `auto` falls back in seconds, once,
in Portuguese, without huggingface_hub's retries."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from service.backends.hub import hub_access, hub_reachable, looks_like_hub_id

ROOT = Path(__file__).resolve().parents[2]
HUB_ID = "cardiffnlp/twitter-xlm-roberta-base-sentiment"
UNREACHABLE = "Hugging Face Hub não pode ser acessado"


@pytest.fixture(name="closed_endpoint")
def closed_loopback_endpoint():
    """An http URL on a loopback port nobody listens on (connection refused at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def fresh_env(tmp_path, **env):
    """A new user's environment: no offline switch, an empty hub cache, no model settings."""
    environ = {key: value for key, value in os.environ.items()
               if key not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HUB_CACHE",
                              "HUGGINGFACE_HUB_CACHE", "HF_HOME", "SENTIMENT_MODEL",
                              "SENTIMENT_BACKEND", "SENTIMENT_RUNTIME")}
    environ.update(HF_HOME=str(tmp_path / "hf-home"), **env)
    return environ


def classify(environ, timeout=30):
    """`python -m service classify` (the README's first try), killed past ``timeout`` seconds:
    before the probe it took about 50 s; the bound is generous for a loaded CI machine."""
    return subprocess.run([sys.executable, "-m", "service", "classify", "Que dia ótimo!"],
                          cwd=ROOT, env=environ, capture_output=True, text=True, timeout=timeout,
                          check=False)


def test_auto_falls_back_quickly_with_one_portuguese_message(tmp_path, closed_endpoint):
    """Hub endpoint refusing connections: the lexicon answers, one message, no retry warnings."""
    done = classify(fresh_env(tmp_path, HF_ENDPOINT=closed_endpoint))
    assert done.returncode == 0, done.stderr
    assert '"backend": "lexicon"' in done.stdout
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert UNREACHABLE in lines[0] and "léxico LeIA" in lines[0] and closed_endpoint in lines[0]
    assert "Retry" not in done.stderr and "Traceback" not in done.stderr


def test_hf_hub_offline_skips_the_probe_and_says_why(tmp_path, closed_endpoint):
    """HF_HUB_OFFLINE=1: no request at all; the message names the variable."""
    done = classify(fresh_env(tmp_path, HF_ENDPOINT=closed_endpoint, HF_HUB_OFFLINE="1"))
    assert done.returncode == 0, done.stderr
    assert "HF_HUB_OFFLINE" in done.stderr and closed_endpoint not in done.stderr
    assert len([line for line in done.stderr.splitlines() if line.strip()]) == 1


def test_transformers_mode_fails_fast_instead_of_falling_back(tmp_path, closed_endpoint):
    """SENTIMENT_BACKEND=transformers: exit 1 with the same reason, no lexicon, no retries."""
    done = classify(fresh_env(tmp_path, HF_ENDPOINT=closed_endpoint,
                              SENTIMENT_BACKEND="transformers"))
    assert done.returncode == 1
    assert UNREACHABLE in done.stderr and "Retry" not in done.stderr


def test_a_cached_model_is_read_from_the_cache_when_the_hub_is_down(tmp_path, closed_endpoint,
                                                                    tiny_model_dir):
    """A model in the hub cache loads offline (no retries) when the hub cannot be reached."""
    # Lay the tiny model out as huggingface_hub's cache would hold a downloaded snapshot.
    repo = tmp_path / "hf-home" / "hub" / "models--sentimento--tiny"
    snapshot = repo / "snapshots" / ("a" * 40)
    snapshot.mkdir(parents=True)
    for file in Path(tiny_model_dir).iterdir():
        (snapshot / file.name).write_bytes(file.read_bytes())
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("a" * 40, encoding="ascii")
    environ = fresh_env(tmp_path, HF_ENDPOINT=closed_endpoint, SENTIMENT_MODEL="sentimento/tiny")
    done = classify(environ, timeout=120)
    assert done.returncode == 0, done.stderr
    assert '"backend": "transformers"' in done.stdout
    assert f'"revision": "{"a" * 40}"' in done.stdout  # the hub commit of the cached snapshot
    assert "Retry" not in done.stderr


def test_hub_ids_and_paths_are_told_apart(tmp_path):
    """owner/name is a hub id; absolute, relative and existing paths are not."""
    assert looks_like_hub_id(HUB_ID) and looks_like_hub_id("gpt2")
    for path in (str(tmp_path), "/models/sentiment", "./modelo", "../x", "a/b/c", "~/m"):
        assert not looks_like_hub_id(path), path


def test_the_probe_answers_within_its_timeout(closed_endpoint):
    """A refused connection is 'unreachable'; HF_HUB_OFFLINE means no request."""
    assert not hub_reachable(closed_endpoint)
    access = hub_access(HUB_ID, {"HF_HUB_OFFLINE": "1", "HF_ENDPOINT": closed_endpoint})
    assert access.local_only and "HF_HUB_OFFLINE" in access.reason
    access = hub_access(HUB_ID, {"HF_ENDPOINT": closed_endpoint})
    assert access.local_only and closed_endpoint in access.reason
