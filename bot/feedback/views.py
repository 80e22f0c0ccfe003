"""What users read about feedback and the model, in Portuguese: the "Concordo" / "Discordo"
buttons under an answer, the label picker, the thanks, and ``/sentimento modelo``. Pure Block Kit.
"""

from __future__ import annotations

from typing import Any, Sequence

from bot.blocks import COMMAND, context, header, message_text, notice, section
from bot.classify.port import ModelInfo, short_version
from bot.feedback.rules import (
    FALSE_ALARM_LIMIT, MIN_DECISIONS, EvaluationFigures, FeedbackSummary, ThresholdAdvice, Vote,
    encode_vote, valid_version,
)
from service.labels import LABELS, LABELS_PT

AGREE_ACTION_ID = "feedback_concordo"
DISAGREE_ACTION_ID = "feedback_discordo"
PICK_ACTION_PREFIX = "feedback_rotulo_"  # + the label: one action id per button of the picker
PRIVACY_NOTE = "Só guardamos a contagem de votos por modelo, nunca o texto nem quem votou."


def percent(value: float | None) -> str:
    """``0.873`` -> ``"87,3%"``; ``"—"`` when unknown."""
    return "—" if value is None else f"{value * 100:.1f}".replace(".", ",") + "%"


def decimal(value: float | None) -> str:
    """``0.8123`` -> ``"0,81"``; ``"—"`` when unknown."""
    return "—" if value is None else f"{value:.2f}".replace(".", ",")


def vote_buttons(predicted: str, model: str) -> dict[str, Any] | None:
    """The actions block under an answer: "👍 Concordo" and "👎 Discordo", each carrying only
    the predicted label and the model version (never the text); None when the version cannot
    be carried (no buttons rather than a vote that cannot be kept)."""
    if predicted not in LABELS or not valid_version(model):
        return None
    value = encode_vote(Vote(predicted, model))
    return {"type": "actions", "block_id": "feedback", "elements": [
        {"type": "button", "action_id": AGREE_ACTION_ID, "value": value,
         "text": {"type": "plain_text", "text": "👍 Concordo", "emoji": True}},
        {"type": "button", "action_id": DISAGREE_ACTION_ID, "value": value,
         "text": {"type": "plain_text", "text": "👎 Discordo", "emoji": True}},
    ]}


def picker_message(vote: Vote) -> dict[str, Any]:
    """After "Discordo": which label is right? One button per other label (replaces the answer,
    so that each answer gets one vote)."""
    buttons = [{"type": "button", "action_id": PICK_ACTION_PREFIX + label,
                "value": encode_vote(Vote(vote.predicted, vote.model, label)),
                "text": {"type": "plain_text", "text": LABELS_PT[label]}}
               for label in LABELS if label != vote.predicted]
    text = f"O modelo disse *{LABELS_PT[vote.predicted]}*. Qual seria a classificação certa?"
    return {"text": message_text(text), "blocks": [
        section(text), {"type": "actions", "block_id": "feedback_rotulo", "elements": buttons},
        context(PRIVACY_NOTE)]}


def thanks_message(vote: Vote) -> dict[str, Any]:
    """The answer replaced after a vote: thanks, and what was recorded."""
    said = LABELS_PT[vote.predicted]
    if vote.actual == vote.predicted:
        text = f":pray: Obrigado! Registramos que você concorda com *{said}*."
    else:
        text = (f":pray: Obrigado! Registramos que, para você, o certo seria "
                f"*{LABELS_PT[vote.actual or vote.predicted]}* (o modelo disse *{said}*).")
    return {"text": message_text(text), "blocks": [
        section(text), context(f"{PRIVACY_NOTE} Esses votos ajudam a avaliar o modelo "
                               f"(`{COMMAND} modelo`).")]}


def vote_failed_message() -> dict[str, Any]:
    """The vote could not be kept (store down): the buttons stay, the user may try again."""
    return notice(":warning: Não consegui registrar seu voto agora. Tente de novo em alguns "
                  "instantes.")


def bad_vote_message() -> dict[str, Any]:
    """A vote button this bot did not make."""
    return notice(":warning: Não reconheci este botão; nada foi registrado.")


def _evaluation_lines(info: ModelInfo, figures: EvaluationFigures | None) -> list[str]:
    if figures is None:
        return ["_Sem métricas do conjunto de avaliação para este modelo_ (defina "
                "`SENTIMENT_EVALUATION_FILE` com o JSON de `python -m service evaluate`)."]
    size = f" ({figures.n} mensagens)" if figures.n else ""
    lines = [f"*No conjunto de avaliação*{size}: macro-F1 {decimal(figures.macro_f1)} · "
             f"acurácia {percent(figures.accuracy)}"]
    for label in LABELS:
        row = figures.per_class.get(label)
        if row is not None:
            lines.append(f"• {LABELS_PT[label]}: precisão {percent(row.precision)}, "
                         f"revocação {percent(row.recall)}, F1 {decimal(row.f1)}")
    if figures.revision and info.revision and figures.revision != info.revision:
        lines.append(f":warning: Essas métricas são da revisão `{figures.revision[:19]}`, não "
                     f"da que está em uso (`{info.revision[:19]}`).")
    return lines


def _feedback_lines(title: str, summary: FeedbackSummary) -> list[str]:
    if not summary.votes:
        return [f"*{title}*: nenhum voto ainda."]
    lines = [f"*{title}*: {summary.votes} votos, concordância {percent(summary.agreement)}"]
    for predicted in LABELS:
        row = summary.confusion.get(predicted) or {}
        total = sum(row.values())
        if total:
            parts = " · ".join(f"{LABELS_PT[actual]} {row[actual]}" for actual in LABELS)
            lines.append(f"• Modelo disse {LABELS_PT[predicted]} ({total}): usuários "
                         f"disseram {parts}")
    return lines


def _advice_line(advice: ThresholdAdvice) -> str:
    current = decimal(advice.current)
    base = (f"*Alertas de moderação*: {advice.false_alarms} falsos alarmes em {advice.decided} "
            f"alertas decididos ({percent(advice.false_alarm_rate)}); limiar atual {current}.")
    if advice.reason == "few_decisions":
        return (f"{base} Poucas decisões para sugerir outro limiar (mínimo {MIN_DECISIONS}); "
                "mantenha o atual.")
    if advice.reason == "raise":
        return (f"{base} Mais de {FALSE_ALARM_LIMIT:.0%} de falsos alarmes: sugiro subir o "
                f"limiar para *{decimal(advice.suggested)}* "
                f"(`{COMMAND} limiar {decimal(advice.suggested)}`).")
    if advice.reason == "at_ceiling":
        return (f"{base} Muitos falsos alarmes, mas o limiar já está no máximo sugerido "
                "(0,95): revise a regra (`regra N M T`).")
    return f"{base} Taxa de falsos alarmes aceitável: mantenha o limiar."


def model_message(info: ModelInfo | None, figures: EvaluationFigures | None,
                  current: FeedbackSummary, overall: FeedbackSummary, advice: ThresholdAdvice,
                  unavailable: str | None = None) -> dict[str, Any]:
    """``/sentimento modelo``: the model in use, its figures on the evaluation set, the
    agreement and confusion from users' votes (this version and all), and the threshold advice."""
    if info is None:
        model_lines = [f":warning: Não consegui consultar o modelo em uso. {unavailable or ''}"]
        evaluation: Sequence[str] = []
    else:
        model_lines = [f"*Modelo em uso*: `{info.model}`",
                       f"• Revisão: `{info.revision or 'desconhecida'}` · backend "
                       f"{info.backend or '—'} · runtime {info.runtime or '—'}"]
        evaluation = _evaluation_lines(info, figures)
    this_version = (f"Votos nesta versão ({short_version(info.version)})" if info is not None
                    else "Votos nesta versão")
    blocks = [header("🧠 Modelo de sentimento"), section("\n".join(model_lines))]
    if evaluation:
        blocks.append(section("\n".join(evaluation)))
    blocks += [section("\n".join(_feedback_lines(this_version, current)
                                 + _feedback_lines("Votos em todas as versões", overall))),
               section(_advice_line(advice)),
               context("Votos: botões Concordo/Discordo das respostas de "
                       f"`{COMMAND} <texto>` e do atalho. {PRIVACY_NOTE}")]
    summary = "Modelo em uso: " + (info.version if info is not None else "indisponível")
    return {"text": message_text(summary), "blocks": blocks}
