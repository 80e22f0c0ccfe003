"""Slack markup to model input (the clean-up shared by the service and the bot)."""

import emoji
import pytest

from service.text import _emoji_names, clean_text, model_input


@pytest.mark.parametrize("raw, clean", [
    ("<@U123ABC> obrigado pela ajuda!", "@user obrigado pela ajuda!"),
    ("<@W0ABC|maria> valeu", "@user valeu"),
    ("<!subteam^S123|@devs> revisem", "@user revisem"),
    ("veja <https://exemplo.com/a?b=1|o relatório> agora", "veja http agora"),
    ("olha https://x.com/abc e www.site.com.br ok", "olha http e http ok"),
    ("<mailto:ana@exemplo.com|ana@exemplo.com> respondeu", "http respondeu"),
    ("<#C0123|geral> e <#C999>", "#geral e #canal"),
    ("<!here> atenção", "@here atenção"),
    ("bom dia :smile: :thumbsup: :+1: :tada::skin-tone-2:", "bom dia 😄 👍 👍 🎉"),
    (":naoexiste: fica como está", ":naoexiste: fica como está"),
    ("antes ```print(1)\nprint(2)``` depois `x = 1` fim", "antes depois fim"),
    ("código sem fim ```def f():", "código sem fim"),
    ("a &amp; b &lt;3", "a & b <3"),
    ("  muitos   \n\n espaços\t ", "muitos espaços"),
    ("Vocês são ótimos!", "Vocês são ótimos!"),
])
def test_clean_text(raw, clean):
    """Clean text."""
    assert clean_text(raw) == clean


def test_escaped_brackets_are_not_mentions():
    """Escaped brackets are not mentions."""
    # Slack escapes a literal "<" typed by the user; it must not turn into a mention.
    assert clean_text("&lt;@U123&gt; digitado") == "<@U123> digitado"


def test_only_code_leaves_nothing():
    """Only code leaves nothing."""
    assert clean_text("```SELECT 1```") == ""


def test_clean_text_is_idempotent():
    """Clean text is idempotent."""
    once = clean_text("<@U1> viu <https://a.b|isso>? :smile:  ótimo")
    assert clean_text(once) == once


def test_model_input_keeps_something_for_markup_only_messages():
    """A message that is only code still reaches the model (as typed); others are cleaned."""
    assert model_input("  ```rm -rf /```  ") == "```rm -rf /```"
    assert model_input("Oi <@U123>,   veja <https://x.com|isto>") == "Oi @user, veja http"


def test_model_input_is_valid_unicode():
    """Lone surrogates (which JSON allows) become U+FFFD; a split pair becomes its character."""
    assert model_input("\ud800") == "\ufffd"
    assert model_input("bom \udfff dia") == "bom \ufffd dia"
    assert model_input("```\ud800```") == "```\ufffd```"
    assert model_input("\ud83d\ude00 ótimo") == "😀 ótimo"


def test_numeric_character_references_become_their_characters():
    """``&#128512;`` is 😀 (leading zeros too); a 7-digit code point is kept; 8 digits or more
    are past Unicode and become U+FFFD, as ``html.unescape`` would, even for thousands of digits."""
    assert clean_text("oi &#128512; &#0000128512;") == "oi 😀 😀"
    assert clean_text("a &#1000000; b") == "a \U000f4240 b"
    assert clean_text("a &#12345678; b") == "a \ufffd b"
    assert clean_text("a &#" + "9" * 5000 + "; b") == "a \ufffd b"


def test_every_shortcode_becomes_the_emoji_the_emoji_package_gives_it():
    """The shortcode table (built once for speed) answers as ``emoji.emojize(code,
    language="alias")`` does, for English names and aliases alike; made-up names stay as typed.
    The table is built here again, since the module's copy was built at import."""
    names = _emoji_names()
    sample = list(emoji.EMOJI_DATA.items())[::20]
    codes = {code for _, data in sample for code in (data.get("en"), *data.get("alias", ())) if code}
    assert len(codes) > 250
    for code in sorted(codes):
        assert names.get(code, code) == emoji.emojize(code, language="alias"), code
    assert names[":grinning_face:"] == names[":grinning:"] == "😀"
    assert ":naoexiste:" not in names


def test_other_slack_commands_such_as_dates_are_dropped():
    """``<!date^...|18 fev>`` and other ``<!...>`` markup leave nothing of themselves behind."""
    assert clean_text("reunião <!date^1392734382^{date_short}|18 fev> cancelada") == \
        "reunião cancelada"
    assert clean_text("<!desconhecido>ok") == "ok"
