"""Text clean-up before the model: Slack markup to the plain text XLM-T was trained on."""

from __future__ import annotations

import html
import re

import emoji

# Every pattern runs in linear time on any input. A Slack label (``<@U1|name>``) never holds a raw
# ``<`` or ``>`` (Slack escapes them as ``&lt;``/``&gt;``), so label classes exclude both: an
# unclosed ``<@U1|`` then gives up at the next ``<`` instead of rescanning to the end of the text for
# every ``<`` (quadratic: 1-2 s for 40,000 characters of ``<@U1|``). Possessive quantifiers
# (``*+``) never backtrack into what they matched.
_CODE_BLOCK = re.compile(r"```.*?(?:```|$)", re.DOTALL)
_INLINE_CODE = re.compile(r"`[^`\n]*+`")
_USER = re.compile(r"<@[UW][A-Z0-9]++(?:\|[^<>]*+)?>")
_CHANNEL = re.compile(r"<#C[A-Z0-9]++(?:\|([^<>]*+))?>")
_SPECIAL = re.compile(r"<!(here|channel|everyone)(?:\|[^<>]*+)?>")
_SUBTEAM = re.compile(r"<!subteam\^[A-Z0-9]++(?:\|[^<>]*+)?>")
_OTHER_BANG = re.compile(r"<![^<>]*+>")
_LINK = re.compile(r"<(?:https?://|mailto:|tel:|ftp://)[^<>]*+>")
_BARE_URL = re.compile(r"\b(?:https?://|www\.)\S+")
_SKIN_TONE = re.compile(r":skin-tone-\d:")
_SHORTCODE = re.compile(r":[a-z0-9_+\-']++:")
_WHITESPACE = re.compile(r"\s+")
# A decimal character reference: ``html.unescape`` turns its digits into an ``int``, which raises
# past 4,300 digits (``&#999...``) and costs quadratic time below that; see _shorten_charrefs.
_DECIMAL_CHARREF = re.compile(r"&#0*+([0-9]++)")
_MAX_CODEPOINT_DIGITS = len(str(0x10FFFF))  # 7: any longer number is past Unicode

# Slack names that differ from the ``emoji`` package's aliases.
_SLACK_EMOJI = {
    ":simple_smile:": "🙂", ":slightly_smiling_face:": "🙂", ":white_frowning_face:": "☹️",
    ":thumbsup:": "👍", ":thumbsdown:": "👎", ":+1:": "👍", ":-1:": "👎",
    ":heart:": "❤️", ":tada:": "🎉", ":rage:": "😡", ":cry:": "😢",
}


def _emoji_names() -> dict[str, str]:
    """``:name:`` to emoji exactly as ``emoji.emojize(name, language="alias")`` resolves one
    shortcode (an alias wins over an English name; only fully-qualified emoji), as one dict.

    ``emojize`` looks every unknown name up by scanning all ~5,000 emoji twice (1 ms each), so a
    40,000-character message of distinct made-up ``:abc:`` codes took seconds.
    """
    emoji.emojize(":x:", language="alias")  # make sure the alias data is loaded
    fully_qualified = emoji.STATUS["fully_qualified"]
    english: dict[str, str] = {}
    aliases: dict[str, str] = {}
    for emj, data in emoji.EMOJI_DATA.items():
        if data["status"] > fully_qualified:
            continue
        if "en" in data:
            english.setdefault(data["en"], emj)
        for alias in data.get("alias", ()):
            aliases.setdefault(alias, emj)
    return english | aliases


_EMOJI_NAMES = _emoji_names()


def _shortcode(match: re.Match) -> str:
    code = match.group(0)
    if code in _SLACK_EMOJI:
        return _SLACK_EMOJI[code]
    return _EMOJI_NAMES.get(code, code)


def _short_charref(match: re.Match) -> str:
    digits = match.group(1)
    return "&#1114112" if len(digits) > _MAX_CODEPOINT_DIGITS else f"&#{digits}"


def _unescape(text: str) -> str:
    """``html.unescape`` in linear time and without raising.

    A decimal reference longer than any code point (``&#`` and 8+ digits, leading zeros aside)
    becomes ``&#1114112``, which ``html.unescape`` turns into U+FFFD as it would the original.
    """
    if "&#" in text:
        text = _DECIMAL_CHARREF.sub(_short_charref, text)
    return html.unescape(text)


def clean_text(text: str) -> str:
    """Turn a Slack message into model input.

    Code blocks and inline code are dropped; user and group mentions become
    ``@user`` and links ``http`` (the XLM-T training convention); channel
    mentions become ``#name``; ``:smile:`` shortcodes become Unicode emoji;
    HTML entities are unescaped and whitespace is collapsed.

    Runs in time linear in ``len(text)`` (about 2 ms for 40,000 characters of any kind) and never
    raises on a ``str``.
    """
    out = _CODE_BLOCK.sub(" ", text)
    out = _INLINE_CODE.sub(" ", out)
    out = _USER.sub("@user", out)
    out = _SUBTEAM.sub("@user", out)
    out = _CHANNEL.sub(lambda m: f"#{m.group(1)}" if m.group(1) else "#canal", out)
    out = _SPECIAL.sub(lambda m: f"@{m.group(1)}", out)
    out = _OTHER_BANG.sub(" ", out)
    out = _LINK.sub("http", out)
    out = _BARE_URL.sub("http", out)
    out = _unescape(out)
    out = _SKIN_TONE.sub("", out)
    out = _SHORTCODE.sub(_shortcode, out)
    return _WHITESPACE.sub(" ", out).strip()


def valid_unicode(text: str) -> str:
    """``text`` with every lone surrogate (``"\\ud800"``, which JSON and Python allow but no
    UTF-8 encoder, the tokenizer's included, accepts) replaced by U+FFFD; a pair of surrogates
    in order becomes the character it encodes."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def model_input(text: str) -> str:
    """What a backend is given for ``text``: the cleaned text, or the stripped original when
    clean-up leaves nothing (a message that is only code or markup still gets an answer);
    valid Unicode either way."""
    text = valid_unicode(text)
    return clean_text(text) or text.strip()
