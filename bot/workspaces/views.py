"""What people read about installing and workspaces: the "Adicionar ao Slack" page, the pages
after Slack's answer, and the refusal shown to a member of another workspace. Pure: text and
HTML only (every value put in HTML is escaped)."""

from __future__ import annotations

from html import escape
from typing import Sequence

# One line per bot scope the install asks for (manifest.yaml's, or SLACK_SCOPES).
SCOPE_REASONS = {
    "commands": "o comando /sentimento e os atalhos de mensagem",
    "chat:write": "responder só para quem pediu, publicar relatórios compartilhados, resumos "
                  "semanais e alertas de moderação",
    "channels:history": "ler as mensagens dos canais públicos em que o bot está, para contar "
                        "o humor (o texto nunca é guardado)",
    "groups:history": "o mesmo nos canais privados para os quais o bot for convidado",
    "channels:read": "listar, na aba Início, os canais públicos de quem a abre",
    "groups:read": "listar, na aba Início, os canais privados de quem a abre",
    "users:read": "saber quem é administrador (só administradores configuram a moderação)",
    "usergroups:read": "saber quem está no grupo de moderadores",
    "files:write": "anexar o gráfico do humor aos relatórios compartilhados e resumos",
}

FOREIGN_TEAM_TEXT = (
    ":no_entry: O Sentimento deste canal pertence a outro workspace. Só membros do workspace "
    "que instalou o app podem usar os comandos e botões dele aqui; no seu workspace, peça para "
    "instalar o Sentimento.")
NOT_INSTALLED_TEXT = (
    ":warning: O Sentimento não está instalado neste workspace (ou foi desinstalado). Peça a um "
    "administrador para instalá-lo de novo pelo link \"Adicionar ao Slack\".")

_PAGE = """<!DOCTYPE html>
<html lang="pt-BR"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;
line-height:1.5}} li{{margin:.3rem 0}} code{{background:#f4f4f4;padding:0 .2rem}}</style>
</head><body>
{body}
</body></html>
"""

_ERRORS = {
    "access_denied": "a instalação foi cancelada no Slack.",
    "invalid_browser": "o link de instalação foi aberto em outro navegador ou expirou.",
    "invalid_state": "o link de instalação expirou ou já foi usado.",
    "missing_code": "o Slack não enviou o código de autorização.",
    "invalid_code": "o Slack recusou o código de autorização (já usado ou expirado).",
    "storage_error": "não foi possível guardar a instalação; tente de novo em alguns minutos.",
}


def page(title: str, body_html: str) -> str:
    """A whole HTML page (``body_html`` is already safe HTML)."""
    return _PAGE.format(title=escape(title), body=body_html)


def install_page(authorize_url: str, scopes: Sequence[str]) -> str:
    """The "Adicionar ao Slack" page: what the app does, each scope in one line, the button."""
    items = "\n".join(
        f"<li><code>{escape(scope)}</code>: "
        f"{escape(SCOPE_REASONS.get(scope, 'permissão pedida pelo app'))}</li>"
        for scope in scopes)
    body = (
        "<h1>Sentimento</h1>\n"
        "<p>O Sentimento lê o clima das conversas em português (Positivo, Neutro, Negativo). "
        "O texto das mensagens nunca é guardado: só contagens por canal e por dia.</p>\n"
        "<p>Ao instalar, o app pede estas permissões:</p>\n"
        f"<ul>\n{items}\n</ul>\n"
        f'<p><a href="{escape(authorize_url, quote=True)}"><img alt="Adicionar ao Slack" '
        'height="40" width="139" src="https://platform.slack-edge.com/img/add_to_slack.png" '
        'srcset="https://platform.slack-edge.com/img/add_to_slack.png 1x, '
        'https://platform.slack-edge.com/img/add_to_slack@2x.png 2x"></a></p>\n'
        f'<p><a href="{escape(authorize_url, quote=True)}">Adicionar ao Slack</a></p>')
    return page("Adicionar o Sentimento ao Slack", body)


def success_page(team_name: str | None, app_url: str | None) -> str:
    """The page after a successful install."""
    where = f" em <strong>{escape(team_name)}</strong>" if team_name else ""
    link = (f'<p><a href="{escape(app_url, quote=True)}">Abrir o Sentimento no Slack</a></p>'
            if app_url else "")
    body = (f"<h1>Pronto!</h1>\n<p>O Sentimento foi instalado{where}.</p>\n"
            "<p>Convide o bot para um canal (<code>/invite @Sentimento</code>) para acompanhar "
            "o humor dele, ou use <code>/sentimento ajuda</code>.</p>\n" + link)
    return page("Sentimento instalado", body)


def failure_page(reason: str, install_path: str) -> str:
    """The page after a failed install, with why (Slack's or Bolt's reason) and a retry link."""
    why = _ERRORS.get(reason, "o Slack não concluiu a instalação.")
    body = (f"<h1>A instalação não foi concluída</h1>\n<p>Motivo: {escape(why)} "
            f"(<code>{escape(reason)}</code>)</p>\n"
            f'<p><a href="{escape(install_path, quote=True)}">Tentar de novo</a></p>')
    return page("Instalação não concluída", body)
