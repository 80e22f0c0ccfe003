"""Slack markup to model input (the clean-up shared by the service and the bot)."""

import pytest

from service.text import clean_text, model_input


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
