"""clean_text against hostile input: linear time on the worst 40,000-character texts, never raising.

The time bound (50 ms for the API's largest text) is on the best of up to 5 runs, in CPU time
of the calling thread, to be robust to a noisy machine. Before the fix, unclosed ``<#C1|``
markup took 1.9 s and distinct unknown ``:abc:`` shortcodes 5 s.
"""

import itertools
import re
import string
import time

import emoji
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from service.text import clean_text, model_input
from tests.support.fuzz import fuzz_settings

MAX_CHARS = 40_000  # the service's limit per text (service.app.MAX_CHARS)
BUDGET_S = 0.050


def fill(unit: str, size: int = MAX_CHARS) -> str:
    """``unit`` repeated to exactly ``size`` characters."""
    return (unit * (size // len(unit) + 1))[:size]


def best_time(text: str, runs: int = 5) -> float:
    """The fastest of up to ``runs`` clean-ups of ``text``, in CPU seconds of this thread.

    CPU time, not wall time, so that other processes on a busy machine do not count; the best
    of several runs (stopping at the first within budget) so that a cache miss or a GC pause
    does not either. A quadratic clean-up exceeds the budget on every run.
    """
    best = float("inf")
    for _ in range(runs):
        started = time.thread_time()
        clean_text(text)
        best = min(best, time.thread_time() - started)
        if best < BUDGET_S:
            break
    return best


UNCLOSED = ["<@U1|", "<@W1|x", "<#C1|", "<#C1|geral", "<!here|", "<!channel|", "<!subteam^S1|",
            "<!", "<!date^1|", "<http://", "<https://a.b|", "<mailto:", "<tel:", "<ftp://",
            "<@U", "<#C", "<@UAAAA", "<!subteam^"]
RUNS = ["`", "``", "```", "<", ">", "|", ":", "&", " ", "\n", "\t", " \n\t\r", "@", "#", "!",
        "^", ";", "&#", "&#x", "&amp", "&lt;", ":a", ":skin-tone-", ":+1", "http://", "www.",
        "https://x", "é", "\u00a0", "\ud800"]
MIXTURES = ["<@U1|<#C1|<!x`:a&amp;```<http://  ", "```<@U1|`", "<@U1|:smile:&lt;", "<&<&|:`",
            "<@U1>:tada::skin-tone-2:&amp;", "`<!here|\n", ":a-b+c_d'e", "&#9999999999"]
WORST_CASES = {f"repeated {unit!r}": fill(unit) for unit in UNCLOSED + RUNS + MIXTURES}
WORST_CASES.update({
    "one unclosed mention then letters": "<@U1|" + "a" * (MAX_CHARS - 5),
    "letters then one unclosed link": "a" * (MAX_CHARS - 8) + "<http://",
    "a huge decimal character reference": "&#" + "9" * (MAX_CHARS - 2),
    "leading zeros in a character reference": "&#" + "0" * (MAX_CHARS - 5) + "65;",
    "a huge hex character reference": "&#x" + "f" * (MAX_CHARS - 3),
    "distinct unknown shortcodes": "".join(
        f":{''.join(p)}: " for p in itertools.product(string.ascii_lowercase, repeat=3))[:MAX_CHARS],
    "distinct real shortcodes": fill(" ".join(sorted(
        data["en"] for data in emoji.EMOJI_DATA.values() if data["en"].isascii()))),
    "one code fence then text": "```" + "a" * (MAX_CHARS - 3),
    "one backtick per line": fill("`a\n"),
    "one long bare URL": "http://" + "a" * (MAX_CHARS - 7),
})


@pytest.mark.parametrize("text", list(WORST_CASES.values()), ids=list(WORST_CASES))
def test_the_worst_40000_character_texts_clean_in_under_50_ms(text):
    """No 40,000-character text, however malformed, holds the worker for more than 50 ms."""
    assert len(text) == MAX_CHARS
    elapsed = best_time(text)
    assert elapsed < BUDGET_S, f"clean_text took {elapsed * 1000:.1f} ms (budget 50 ms)"


def test_an_absurd_character_reference_is_a_replacement_character_not_a_crash():
    """``&#`` and thousands of digits once raised ValueError (Python's int-size limit)."""
    assert clean_text("ok &#" + "9" * 5000 + "; fim") == "ok \ufffd fim"
    assert clean_text("&#" + "0" * 5000 + "65;") == "A"  # leading zeros do not change the value
    assert clean_text("&#1114111;&#1114112;") == "\ufffd"  # U+10FFFF is dropped, past it is U+FFFD
    assert clean_text("&#233; &#0233; &#x41;") == "é é A"


# A fragment of markup-heavy characters and Slack markup openers, repeated to the API's limit.
MARKUP_ALPHABET = "<>@#!|^:`&;/ \n\tUWCSAZ09az_-+'.wthpsxé\u00a0\ud800"
OPENERS = ["<@U1", "<@W", "<#C1", "<!", "<!here", "<!subteam^S1", "<http://", "<mailto:", "|",
           "```", "`", "&#", "&#x", "&amp", "http://", "www.", ":skin-tone-", ":a"]
fragments = st.one_of(
    st.text(alphabet=MARKUP_ALPHABET, min_size=1, max_size=24),
    st.lists(st.sampled_from(OPENERS) | st.text(alphabet=MARKUP_ALPHABET, min_size=1, max_size=3),
             min_size=1, max_size=6).map("".join))


@fuzz_settings(share=0.5)
@given(fragments)
def test_any_periodic_40000_character_text_cleans_in_under_50_ms(fragment):
    """Whatever fragment is repeated to 40,000 characters, clean-up stays linear."""
    text = fill(fragment)
    elapsed = best_time(text)
    assert elapsed < BUDGET_S, f"{fragment!r} * n took {elapsed * 1000:.1f} ms"


PIECES = ["<@U1|", "<#C1|", "<!here|", "<http://", ">", "```", "`", ":", "&", "&#", "<", "|",
          " ", "\n", "ótimo", "www.", ":smile:", ":skin-tone-3:", "&amp;", "\ud800", "\x00"]


@fuzz_settings()
@given(st.one_of(st.text(), st.lists(st.sampled_from(PIECES) | st.text(max_size=8)).map("".join)))
def test_clean_text_never_raises_and_leaves_tidy_text(text):
    """Any str gives a str with single spaces and no surrounding whitespace; model input is never
    empty for a text that is not blank."""
    clean = clean_text(text)
    assert isinstance(clean, str)
    assert not re.search(r"\s\s", clean)
    assert clean == clean.strip()
    if text.strip():
        assert model_input(text)


# Well-formed Slack messages: markup as Slack sends it, words without markup characters.
words = st.text(alphabet=string.ascii_letters + "áéíóúãõç0123456789!?,.", min_size=1, max_size=12)
ids = st.text(alphabet=string.ascii_uppercase + string.digits, min_size=1, max_size=10)
slack_pieces = st.one_of(
    words,
    ids.map(lambda i: f"<@U{i}>"), st.tuples(ids, words).map(lambda p: f"<@W{p[0]}|{p[1]}>"),
    st.tuples(ids, words).map(lambda p: f"<#C{p[0]}|{p[1]}>"), ids.map(lambda i: f"<#C{i}>"),
    st.sampled_from(["<!here>", "<!channel>", "<!everyone|everyone>", "<!subteam^S1|@devs>",
                     "<!date^1392734382^{date}|Feb 18>", ":smile:", ":thumbsup:", ":+1:",
                     ":tada::skin-tone-2:", ":naoexiste:", "&amp;", "&lt;3", "&gt;"]),
    words.map(lambda w: f"<https://exemplo.com/{w}|{w}>"), words.map(lambda w: f"https://x.com/{w}"),
    words.map(lambda w: f"`{w}`"), words.map(lambda w: f"```{w}\n{w}```"),
)


@fuzz_settings()
@given(st.lists(slack_pieces, min_size=1, max_size=12).map(" ".join))
def test_cleaning_a_well_formed_message_twice_changes_nothing(message):
    """On messages as Slack sends them, the clean-up is idempotent."""
    assume("www." not in message)
    once = clean_text(message)
    assert clean_text(once) == once


@fuzz_settings()
@given(st.sampled_from(sorted(n for data in emoji.EMOJI_DATA.values()
                              for n in [data["en"], *data.get("alias", ())]))
       | st.text(alphabet=string.ascii_lowercase + "_-+'0123456789", min_size=1).map(
           lambda name: f":{name}:"))
def test_shortcodes_become_the_emoji_emojize_would_give(code):
    """The precomputed shortcode table answers exactly as ``emoji.emojize`` (language alias)."""
    assume(re.fullmatch(r":[a-z0-9_+\-']+:", code) and not code.startswith(":skin-tone-"))
    assume(code not in {
        ":simple_smile:", ":slightly_smiling_face:", ":white_frowning_face:", ":thumbsup:",
        ":thumbsdown:", ":+1:", ":-1:", ":heart:", ":tada:", ":rage:", ":cry:"})  # Slack's own names
    assert clean_text(f"a {code} b") == f"a {emoji.emojize(code, language='alias')} b"
