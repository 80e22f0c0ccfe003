"""``python -m service``: serve the model over HTTP; ``python -m service classify "texto"``: one-off check;
``python -m service export --model M --out DIR``: export the model to ONNX once (see :mod:`service.export`);
``python -m service evaluate --data FILE``: the model's figures on a labelled set (see
:mod:`service.evaluation`); ``python -m service gate --candidate NEW.json``: the deploy gate (see
:mod:`service.gate`).

Exit status: 0 on a clean stop, 1 when the model cannot be loaded, 2 on a
configuration error (one message, no traceback).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

from service.logs import configure_logging, set_model_identity
from service.dataset import DatasetError, read_labelled
from service.evaluation import evaluate, figures_json, figures_table
from service.gate import (DEFAULT_MAX_F1_DROP, DEFAULT_MIN_MACRO_F1, GateInputError, GatePolicy,
                          judge, load_figures)
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
    evaluate_parser = commands.add_parser(
        "evaluate", help="avalia o modelo configurado num conjunto rotulado",
        description="Classifica cada texto de FILE (JSONL com text e label, ou CSV com as mesmas "
                    "colunas) com o mesmo backend, limpeza e lotes do serviço (SENTIMENT_BACKEND, "
                    "SENTIMENT_MODEL, SENTIMENT_RUNTIME) e imprime acurácia, F1 macro, "
                    "precisão/revocação/F1 por rótulo, matriz de confusão, ECE, a parcela de "
                    "P(negativo) >= 0,5..0,9 e mensagens/s. Linhas inválidas são listadas e "
                    "ignoradas. Saída 2: arquivo ilegível ou sem nenhuma linha válida.")
    evaluate_parser.add_argument("--data", required=True, metavar="FILE", help="conjunto rotulado")
    evaluate_parser.add_argument("--format", choices=("table", "json"), default="table",
                          help="table (Markdown, padrão) ou json (chaves estáveis)")
    evaluate_parser.add_argument("--out", metavar="FILE", help="grava aqui em vez de imprimir")
    gate_parser = commands.add_parser(
        "gate", help="portão de qualidade antes do deploy",
        description="Compara a avaliação do modelo candidato com o mínimo e com a do modelo em "
                    "produção. Saída 0: aprovado; 1: recusado; 2: entrada inválida.")
    gate_parser.add_argument("--candidate", required=True, metavar="NEW.json",
                      help="saída de `evaluate --format json` do modelo candidato")
    gate_parser.add_argument("--baseline", metavar="PREVIOUS.json",
                      help="a do modelo em produção (ausente ou arquivo inexistente: só o mínimo)")
    gate_parser.add_argument("--min-macro-f1", type=float, metavar="X",
                      default=_env_float("MODEL_MIN_MACRO_F1", DEFAULT_MIN_MACRO_F1),
                      help="F1 macro mínimo (padrão: MODEL_MIN_MACRO_F1 ou "
                           f"{DEFAULT_MIN_MACRO_F1})")
    gate_parser.add_argument("--max-drop", type=float, metavar="Y",
                      default=_env_float("MODEL_MAX_F1_DROP", DEFAULT_MAX_F1_DROP),
                      help="queda máxima do F1 macro em relação ao modelo em produção (padrão: "
                           f"MODEL_MAX_F1_DROP ou {DEFAULT_MAX_F1_DROP})")
    return parser


def _env_float(name: str, default: float) -> float:
    """A float from the environment, or ``default`` when unset or not a number (the gate then
    checks the range)."""
    try:
        return float(os.environ.get(name, "").strip() or default)
    except ValueError:
        return float("nan")


def gate_command(args: argparse.Namespace) -> int:
    """Judge the candidate's figures: 0 passed, 1 refused, 2 unusable input."""
    try:
        policy = GatePolicy(args.min_macro_f1, args.max_drop)
        candidate = load_figures(_read(args.candidate), args.candidate)
        baseline = None
        if args.baseline and Path(args.baseline).exists():
            baseline = load_figures(_read(args.baseline), args.baseline)
        elif args.baseline:
            print(f"Aviso: {args.baseline} não existe; sem comparação com o modelo em produção.",
                  file=sys.stderr)
    except (GateInputError, OSError) as exc:
        print(f"Erro: {exc}", file=sys.stderr)
        return 2
    verdict = judge(candidate, baseline, policy)
    print(verdict.message, file=sys.stdout if verdict.passed else sys.stderr)
    return 0 if verdict.passed else 1


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise GateInputError(f"{path}: não está em UTF-8") from exc
    except OSError as exc:
        raise GateInputError(f"não foi possível ler {path}: {exc.strerror or exc}") from exc


def evaluate_command(settings: ServiceSettings, args: argparse.Namespace) -> int:
    """Classify a labelled file through the service's own backend, clean-up and batching; print
    (or write) its figures. 2: unreadable file or no usable row; 1: the model cannot be loaded."""
    # pylint: disable=import-outside-toplevel  # keep `--help` and settings errors fast
    from service.backends import BackendLoadError, load_backend

    try:
        rows, skipped = read_labelled(args.data)
    except DatasetError as exc:
        print(f"Erro: {exc}", file=sys.stderr)
        return 2
    for row in skipped:
        print(f"Aviso: {args.data}:{row.line}: {row.reason}; linha ignorada.", file=sys.stderr)
    if not rows:
        print(f"Erro: nenhuma linha válida em {args.data}.", file=sys.stderr)
        return 2
    try:
        backend = load_backend(settings.model)
    except BackendLoadError as exc:
        print(f"Erro: {exc}", file=sys.stderr)
        return 1
    set_model_identity(backend.model, backend.revision)
    predictions, rate = _classify_timed(settings, backend, [row.text for row in rows])
    report = figures_json(evaluate([row.label for row in rows], predictions),
                          model=backend.model, revision=backend.revision, backend=backend.name,
                          runtime=backend.runtime, messages_per_second=rate,
                          skipped=[(row.line, row.reason) for row in skipped])
    output = (json.dumps(report, ensure_ascii=False, indent=2) + "\n" if args.format == "json"
              else figures_table(report))
    if args.out:
        try:
            Path(args.out).write_text(output, encoding="utf-8")
        except OSError as exc:
            print(f"Erro: não foi possível gravar {args.out}: {exc.strerror or exc}",
                  file=sys.stderr)
            return 2
    else:
        sys.stdout.write(output)
    return 0


def _classify_timed(settings: ServiceSettings, backend, texts: list[str]):
    """Classify ``texts`` through the service's batcher (clean-up included); the results and the
    rate in texts per second."""
    # pylint: disable=import-outside-toplevel  # keep `--help` and settings errors fast
    from service.batching import Batcher

    batcher = Batcher(backend, settings.model.max_batch_size, settings.model.max_batch_wait_ms,
                      max_queue_size=max(settings.model.max_queue_size, len(texts)))
    try:
        started = time.perf_counter()
        predictions = batcher.classify(texts)
        elapsed = time.perf_counter() - started
    finally:
        batcher.close()
    return predictions, (len(texts) / elapsed if elapsed > 0 else 0.0)


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
    print(json.dumps({"model": backend.model, "backend": backend.name, "revision": backend.revision,
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
    if args.command == "gate":  # judges two files: no model, no settings
        return gate_command(args)
    try:
        settings = ServiceSettings.from_env()
        configure_logging()  # LOG_LEVEL, LOG_FORMAT
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    set_model_identity(settings.model.model)  # revision "pending" until the backend is loaded
    commands = {"classify": lambda: classify_command(settings, args.texts),
                "evaluate": lambda: evaluate_command(settings, args)}
    return commands.get(args.command, lambda: serve(settings))()


if __name__ == "__main__":
    sys.exit(main())
