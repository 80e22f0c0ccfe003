"""Shared fixtures: a tiny real XLM-RoBERTa saved to disk and loaded offline."""

from __future__ import annotations

import os

import pytest

# The tests never reach the Hugging Face Hub: every model is built locally.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A 2-layer, hidden-32 XLM-RoBERTa sentiment classifier with cardiffnlp's labels."""
    from service.devmodel import build_model  # pylint: disable=import-outside-toplevel

    return str(build_model(tmp_path_factory.mktemp("tiny-xlmr"), size="tiny", labels="cardiffnlp"))

@pytest.fixture(name="lexicon", scope="session")
def lexicon_backend():
    """The real LeIA lexicon backend: deterministic, real labels."""
    from service.backends.lexicon import LexiconBackend  # pylint: disable=import-outside-toplevel

    return LexiconBackend()


# Store fixtures (firestore_emulator, firestore_env, sqlite_env) and dump helpers.
pytest_plugins = ["tests.support.firestore_support"]


@pytest.fixture()
def fake_slack():
    """A local fake of Slack's Web API and response_url endpoints, recording every call."""
    from tests.support.slack_harness import FakeSlack  # pylint: disable=import-outside-toplevel

    slack = FakeSlack()
    yield slack
    slack.close()


@pytest.fixture(scope="session")
def lexicon_classifier():
    """The in-process classifier on the deterministic LeIA lexicon (real labels)."""
    # pylint: disable=import-outside-toplevel
    from bot.classify.clients import LocalClassifier
    from service.backends.lexicon import LexiconBackend

    classifier = LocalClassifier(LexiconBackend(), max_batch_wait_ms=1.0)
    yield classifier
    classifier.close()


@pytest.fixture()
def bot_factory(fake_slack):  # pylint: disable=redefined-outer-name  # a fixture
    """Start real bots (Bolt app over uvicorn on port 0) talking to ``fake_slack``; stopped after."""
    from tests.support.slack_harness import start_bot  # pylint: disable=import-outside-toplevel

    running = []

    def start(classifier, store=None, env=None, **build_kwargs):
        bot = start_bot(fake_slack, classifier, store, env, **build_kwargs)
        running.append(bot)
        return bot

    yield start
    for bot in running:
        bot.close()
