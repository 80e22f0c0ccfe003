"""``python -m service``: serve the model over HTTP; ``python -m service classify "texto"``: one-off check;
``python -m service export --model M --out DIR``: export the model to ONNX once (see :mod:`service.export`).

Exit status: 0 on a clean stop, 1 when the model cannot be loaded, 2 on a
configuration error (one message, no traceback).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

from service.logs import configure_logging
from service.settings import ServiceSettings, SettingsError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m service",
        description="Serviço de sentimento. Sem argumentos: serve HTTP em HOST:PORT. "
                    "Configuração por variáveis de ambiente (veja o README).")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="serve HTTP em HOST:PORT (padrão)")
    classify = commands.add_parser("classify", help="classifica textos e imprime o resultado em JSON")
    classify.add_argument("texts", nargs="+", metavar="texto")
    export = commands.add_parser(
        "export", help="exporta o modelo para o ONNX Runtime (uma vez, antes de servir)",
        description="Exporta um classificador de sentimento para ONNX (e quantiza em int8), "
                    "compara o resultado com o modelo original em textos de amostra e só grava "
                    "DIR se os rótulos concordarem em pelo menos 99%% deles. Depois: "
                    "SENTIMENT_RUNTIME=<runtime> SENTIMENT_MODEL=DIR python -m service")
    export.add_argument("--model", required=True, metavar="MODELO",
                        help="id do Hugging Face Hub ou diretório salvo com save_pretrained")
    export.add_argument("--out", required=True, metavar="DIR", help="diretório de saída")
    export.add_argument("--runtime", choices=("onnx-int8", "onnx"), default="onnx-int8",
                        help="onnx-int8 (pesos int8, padrão) ou onnx (fp32)")
    export.add_argument("--force", action="store_true",
                        help="grava mesmo se a concordância ficar abaixo de 99%% (modelos de teste "
                             "com pesos aleatórios)")
    return parser


def export_command(args: argparse.Namespace) -> int:
    """Export, check and write the ONNX model; 1 when it cannot be done or the gate refuses."""
    # pylint: disable=import-outside-toplevel  # keep `--help` and settings errors fast
    from service.export import ExportError, export_model

    try:
        export_model(args.model, args.out, runtime=args.runtime, force=args.force)
    except ExportError as exc:
        print(f"Erro: {exc}", file=sys.stderr)
        return 1
    return 0


def classify_command(settings: ServiceSettings, texts: list[str]) -> int:
    """Load the backend, classify ``texts`` through the batcher and print the JSON result."""
    # pylint: disable=import-outside-toplevel  # keep `--help` and settings errors fast
    from service.backends import BackendLoadError, load_backend
    from service.batching import Batcher

    if any(not text.strip() for text in texts):
        print("Erro: texto vazio; passe um texto não vazio.", file=sys.stderr)
        return 2
    try:
        backend = load_backend(settings.model)
    except BackendLoadError as exc:
        print(f"Erro: {exc}", file=sys.stderr)
        return 1
    batcher = Batcher(backend, settings.model.max_batch_size, settings.model.max_batch_wait_ms,
                      max_queue_size=max(settings.model.max_queue_size, len(texts)))
    try:
        results = batcher.classify(texts)
    finally:
        batcher.close()
    print(json.dumps({"model": backend.model, "backend": backend.name,
                      "results": [result.to_dict() for result in results]},
                     ensure_ascii=False, indent=2))
    return 0


def _exit_cleanly(_signum, _frame) -> None:
    raise SystemExit(0)


def serve(settings: ServiceSettings) -> int:
    """Serve with uvicorn until SIGTERM/SIGINT; exit 1 if the model cannot be loaded."""
    # pylint: disable=import-outside-toplevel  # keep `--help` and settings errors fast
    import uvicorn

    from service.app import create_app
    from service.memory import limit_malloc_arenas

    if settings.model.runtime != "torch":  # measured on ONNX Runtime only (see service/memory.py)
        limit_malloc_arenas()  # before any thread starts
    app = create_app(settings)
    state = app.state.service
    # No access log: /sintetize/{text} carries message text in its path, and text is never logged.
    # log_config=None: uvicorn's records go through configure_logging's (redacting) handler.
    config = uvicorn.Config(app, host=settings.host, port=settings.port, access_log=False,
                            log_config=None, timeout_graceful_shutdown=30)
    server = uvicorn.Server(config)

    def stop_if_load_fails() -> None:
        if state.loaded.exception() is not None:
            server.should_exit = True

    threading.Thread(target=stop_if_load_fails, name="load-watcher", daemon=True).start()
    if threading.current_thread() is threading.main_thread():
        # uvicorn shuts down gracefully on SIGTERM/SIGINT, then raises the signal again with the
        # handlers found at start; make that a clean exit (status 0) rather than death by signal.
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, _exit_cleanly)
    server.run()
    if state.error is not None:
        print(f"Erro ao iniciar o serviço: {state.error}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    args = _parser().parse_args(argv)
    if args.command == "export":  # needs no service settings
        try:
            configure_logging()
        except SettingsError as exc:
            print(exc, file=sys.stderr)
            return 2
        return export_command(args)
    try:
        settings = ServiceSettings.from_env()
        configure_logging()  # LOG_LEVEL, LOG_FORMAT
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    if args.command == "classify":
        return classify_command(settings, args.texts)
    return serve(settings)


if __name__ == "__main__":
    sys.exit(main())
