"""``python -m service export``: export a sentiment checkpoint to ONNX once, quantize it, check it.

The source model (hub id or ``save_pretrained`` directory) is loaded exactly as the
torch runtime loads it, exported with ``torch.onnx.export`` (TorchScript exporter,
opset 17, dynamic batch and sequence axes) and, for ``onnx-int8``, quantized with
ONNX Runtime's dynamic quantization (int8 weights, per output channel). Before
anything is written, a quality gate classifies a built-in sample of Portuguese
texts with both models and refuses an export whose labels agree on less than 99%
of them (``--force`` writes it anyway). The directory then holds everything the
ONNX runtimes need, and nothing that needs torch: the model file, ``tokenizer.json``
(with its padding and truncation), ``config.json`` (labels) and ``export.json``
(provenance and the gate's figures).
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Callable, Sequence

from service.backends.onnx_backend import MODEL_FILES
from service.text import model_input

OPSET = 17
MIN_AGREEMENT = 0.99
GATE_BATCH = 16

# Slack-like Brazilian Portuguese messages: praise, complaints, plain information, questions,
# emoji, mentions and links as the text clean-up leaves them, short and long.
SAMPLE_TEXTS: tuple[str, ...] = (
    "Vocês são ótimos, parabéns pelo trabalho!",
    "Que serviço horrível, estou muito irritado",
    "A reunião é às quinze horas",
    "bom dia, pessoal",
    "Adorei o resultado da sprint, equipe incrível 🎉",
    "O deploy quebrou de novo, que saco",
    "Alguém pode revisar meu PR? http",
    "Obrigado pela ajuda, salvou meu dia!",
    "Não gostei nada do atendimento de ontem",
    "O cliente reclamou demais do atraso na entrega",
    "Excelente notícia: fechamos o contrato! 🚀",
    "Semana difícil, estou cansado",
    "@user consegue olhar o bug do login?",
    "Testes passando, tudo verde ✅",
    "Mais uma vez o build falhou sem motivo",
    "Lembrete: o prazo da tarefa é sexta-feira",
    "Que alegria ver o projeto no ar!",
    "Estou com raiva desse sistema lento",
    "O almoço de hoje vai ser no restaurante da esquina",
    "Parabéns @user pelo aniversário! 🎂",
    "Isso está uma bagunça, ninguém sabe o que fazer",
    "Funcionou de primeira, muito obrigado",
    "Atualizei a documentação do projeto",
    "Péssima experiência com o suporte",
    "Gostei bastante da apresentação",
    "O servidor caiu às três da manhã e ninguém foi avisado",
    "Vamos marcar uma call para alinhar o escopo?",
    "Que notícia triste, sinto muito",
    "A nova versão ficou muito mais rápida 👏",
    "Esse erro de novo? Não aguento mais",
    "Segue o link da planilha: http",
    "Muito bom trabalho, time!",
    "A entrega atrasou e o cliente está furioso",
    "Hoje é feriado, o escritório estará fechado",
    "Amei a nova interface, ficou linda",
    "O relatório está errado, refaz por favor",
    "Quem vai na retrospectiva amanhã?",
    "Finalmente resolvemos aquele problema chato",
    "Ninguém respondeu meu e-mail até agora 😡",
    "O café acabou de novo",
    "Sensacional! Batemos a meta do trimestre",
    "Decepcionado com a qualidade dessa entrega",
    "A pauta da reunião está no #geral",
    "Valeu demais pela força, pessoal 🙏",
    "Perdemos o cliente por causa do atraso",
    "O sistema vai ficar fora do ar para manutenção no domingo",
    "Que orgulho dessa equipe ❤️",
    "Estou preocupado com o prazo do projeto",
    "Alguém sabe a senha do wifi das visitas?",
    "Tudo certo por aqui, obrigado por perguntar",
    "Esse código está impossível de entender",
    "A migração foi concluída sem problemas",
    "Que desastre essa reunião, perdemos duas horas",
    "Bem-vindo ao time, @user!",
    "O ar-condicionado da sala está quebrado de novo",
    "Ótima ideia, vamos fazer assim",
    "Não concordo com essa decisão, acho um erro",
    "Publiquei a ata no drive",
    "Estou muito feliz com a promoção, obrigado a todos",
    "Mais um bug em produção, que vergonha",
    "Amanhã trabalho de casa",
    "Fantástico, o cliente elogiou a entrega",
    "Isso não funciona, já tentei de tudo",
    "A pesquisa de clima fecha na quinta",
    "Parabéns pela palestra, foi incrível",
    "Que chato, cancelaram a viagem",
    "O novo estagiário começa segunda",
    "Muito obrigado pela paciência de vocês",
    "Estou frustrado com tantas mudanças de prioridade",
    "O dashboard mostra os números de ontem",
    "Show de bola! 👍",
    "Horrível, não recomendo esse fornecedor",
    "Vou sair mais cedo hoje, tenho médico",
    "Adoro trabalhar com vocês",
    "A API está devolvendo erro 500 de novo",
    "O treinamento foi remarcado para o dia 12",
    "Melhor sprint que já tivemos!",
    "Ninguém testou isso antes de subir?",
    "Confirmado: a festa de fim de ano é dia 15",
    "Excelente atendimento, resolveram tudo rapidinho",
    "Isso foi um absurdo, quero falar com o gerente",
    "As férias coletivas começam em dezembro",
    "Arrasou na demo, parabéns!",
    "Estou cansado de refazer a mesma tarefa",
    "O repositório foi movido para a nova organização",
    "Gratidão por esse time maravilhoso 🥰",
    "A impressora parou de funcionar outra vez",
    "Alguém tem um carregador de notebook sobrando?",
    "Ficou perfeito, pode publicar",
    "Que pena que você vai sair da empresa, vamos sentir falta",
    "Ainda estou esperando a resposta do jurídico",
    "Incrível como tudo deu certo no final",
    "Estou decepcionado, esperava mais de vocês",
    "A daily de amanhã será às dez",
    "Muito legal a iniciativa, contem comigo",
    "Que vergonha esse atraso, de novo",
    ("Pessoal, queria agradecer a todos pelo esforço nesta semana. Sei que foi puxado, com o "
     "deploy atrasado e o cliente cobrando, mas conseguimos entregar tudo com qualidade e o "
     "feedback foi excelente. Vocês são demais! ") * 3,
    ("O sistema travou de novo durante o fechamento do mês, perdemos várias horas de trabalho e "
     "ninguém do suporte respondeu. Já abri três chamados e nada. Isso é inaceitável. ") * 4,
    ("Segue o resumo da reunião: revisamos o cronograma, definimos os responsáveis por cada "
     "entrega e marcamos a próxima conversa para a semana que vem. ") * 3,
    ("Relato longo: " + "o projeto avança, os testes rodam, a equipe revisa o código e o cliente "
     "acompanha as entregas semanais; ") * 40,
)


class ExportError(RuntimeError):
    """The export cannot be done (bad arguments, a model that does not load); the message says why."""


class ExportRefused(ExportError):
    """The quality gate refused the exported model; nothing was written."""


@dataclass(frozen=True)
class GateReport:
    """How the exported model compares with the source model on the sample texts."""

    texts: int
    agreeing: int
    max_difference: float

    @property
    def agreement(self) -> float:
        """Share of texts given the same label by both models."""
        return self.agreeing / self.texts if self.texts else 1.0

    @property
    def passed(self) -> bool:
        """True when the labels agree on at least :data:`MIN_AGREEMENT` of the texts."""
        return self.agreement >= MIN_AGREEMENT

    def describe(self) -> str:
        """One line in Portuguese for the terminal."""
        share = f"{self.agreement:.1%}".replace(".", ",")
        difference = f"{self.max_difference:.4f}".replace(".", ",")
        return (f"concordância de rótulos com o modelo original: {self.agreeing}/{self.texts} "
                f"textos ({share}); maior diferença de probabilidade: {difference}")


def compare(source, exported, texts: Sequence[str]) -> GateReport:
    """Classify ``texts`` with both backends (cleaned and length-sorted in batches of 16, as the
    service does) and count label agreement and the largest probability difference."""
    cleaned = sorted((model_input(text) for text in texts), key=len)
    agreeing, worst = 0, 0.0
    for start in range(0, len(cleaned), GATE_BATCH):
        batch = cleaned[start:start + GATE_BATCH]
        for want, got in zip(source.predict(batch), exported.predict(batch)):
            agreeing += want.label == got.label
            worst = max(worst, *(abs(want.scores[k] - got.scores[k]) for k in want.scores))
    return GateReport(len(cleaned), agreeing, worst)


def _version(package: str) -> str | None:
    try:
        return version(package)
    except PackageNotFoundError:
        return None


def _export_onnx(source, path: Path) -> None:
    """Trace the source network into an fp32 ONNX graph with dynamic batch and sequence axes."""
    # pylint: disable=import-outside-toplevel  # heavy; only the export needs torch
    import torch

    # Two texts of different lengths: the traced graph must contain the padding mask (a batch
    # without padding would let transformers drop the mask from the trace).
    dummy = source.tokenizer(["bom dia", "que serviço horrível, estou muito irritado com vocês"],
                             padding=True, return_tensors="pt")
    assert int(dummy["attention_mask"].min()) == 0, "the tracing batch must contain padding"
    axes = {"batch": 0, "tokens": 1}
    with warnings.catch_warnings():
        # TracerWarnings about shape-dependent Python code and the exporter's deprecation notice;
        # the quality gate checks the result on batches of mixed lengths.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            source.network.cpu().eval(), (dummy["input_ids"], dummy["attention_mask"]), str(path),
            input_names=["input_ids", "attention_mask"], output_names=["logits"],
            dynamic_axes={"input_ids": {v: k for k, v in axes.items()},
                          "attention_mask": {v: k for k, v in axes.items()},
                          "logits": {0: "batch"}},
            opset_version=OPSET, do_constant_folding=True, dynamo=False)


def _quantize(fp32: Path, int8: Path) -> None:
    """Dynamic int8 quantization: int8 weights per output channel, activations quantized at run time."""
    # pylint: disable=import-outside-toplevel  # only the export needs the quantization tools
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(max(level, logging.ERROR))  # the quantizer logs every tensor on the root logger
    try:
        quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8, per_channel=True)
    finally:
        root.setLevel(level)


def _save_tokenizer(source, path: Path) -> None:
    """``tokenizer.json`` with the padding and 512-token truncation the torch runtime applies."""
    # pylint: disable=import-outside-toplevel  # a copy: the source's own tokenizer stays as it is
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_str(source.tokenizer.backend_tokenizer.to_str())
    tokenizer.enable_truncation(source.max_tokens)
    tokenizer.enable_padding(pad_id=source.tokenizer.pad_token_id,
                             pad_token=source.tokenizer.pad_token)
    tokenizer.save(str(path))


def _write_provenance(path: Path, source, model: str, runtime: str, report: GateReport) -> None:
    """``export.json``: where the model came from, how it was exported, what the gate measured."""
    path.write_text(json.dumps({
        "runtime": runtime, "file": MODEL_FILES[runtime], "source_model": model, "opset": OPSET,
        "labels": source.labels, "max_tokens": source.max_tokens,
        "quality_gate": {"texts": report.texts, "agreeing": report.agreeing,
                         "agreement": round(report.agreement, 4),
                         "max_probability_difference": round(report.max_difference, 6),
                         "minimum": MIN_AGREEMENT, "forced": not report.passed},
        "versions": {name: _version(name) for name in
                     ("torch", "transformers", "onnx", "onnxruntime", "tokenizers")},
    }, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _check_arguments(model: str, out: Path, runtime: str) -> None:
    """Refuse what cannot work before loading anything."""
    if runtime not in MODEL_FILES:
        raise ExportError(f"runtime {runtime!r} não é exportável: use {' ou '.join(MODEL_FILES)}")
    if out.exists() and not out.is_dir():
        raise ExportError(f"--out {str(out)!r} existe e não é um diretório")
    if Path(model).exists() and Path(model).resolve() == out:
        raise ExportError("--out deve ser outro diretório que não o do modelo original")


def _write_model(source, work: Path, runtime: str, echo: Callable[[str], None]) -> None:
    """The model file (quantized for ``onnx-int8``), ``tokenizer.json`` and ``config.json``."""
    fp32 = work / MODEL_FILES["onnx"]
    _export_onnx(source, fp32)
    if runtime == "onnx-int8":
        echo("Quantizando os pesos em int8 (dinâmico, por canal)...")
        _quantize(fp32, work / MODEL_FILES[runtime])
        fp32.unlink()
    _save_tokenizer(source, work / "tokenizer.json")
    source.network.config.to_json_file(str(work / "config.json"))


def export_model(model: str, out: str | Path, runtime: str = "onnx-int8", force: bool = False,
                 texts: Sequence[str] = SAMPLE_TEXTS,
                 echo: Callable[[str], None] = print) -> GateReport:
    """Export ``model`` for ``runtime`` into ``out`` after the quality gate; return the gate's report.

    Raises :class:`ExportRefused` (and writes nothing) when fewer than 99% of ``texts`` get the
    same label from both models, unless ``force``; :class:`ExportError` on bad arguments.
    """
    # pylint: disable=import-outside-toplevel  # torch and transformers only for the export
    from service.backends import BackendLoadError
    from service.backends.onnx_backend import OnnxBackend
    from service.backends.transformers_backend import TransformersBackend

    out = Path(out).resolve()
    _check_arguments(model, out, runtime)
    try:
        source = TransformersBackend(model, device="cpu")
    except BackendLoadError as exc:
        raise ExportError(str(exc)) from exc
    echo(f"Exportando {model} para {runtime} (opset {OPSET})...")
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        _write_model(source, work, runtime, echo)
        report = compare(source, OnnxBackend(str(work), runtime), texts)
        echo(report.describe().capitalize())
        if not report.passed and not force:
            raise ExportRefused(
                f"exportação recusada: {report.describe()}; o mínimo é {MIN_AGREEMENT:.0%}. Nada "
                f"foi escrito em {out}. Um modelo com pesos aleatórios (como os de "
                "service.devmodel) quantiza mal; use --force para exportar mesmo assim.")
        if not report.passed:
            echo(f"ATENÇÃO: concordância abaixo de {MIN_AGREEMENT:.0%}; exportado por causa de --force.")
        _write_provenance(work / "export.json", source, model, runtime, report)
        out.mkdir(exist_ok=True)
        for item in work.iterdir():
            item.replace(out / item.name)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    size = (out / MODEL_FILES[runtime]).stat().st_size / 1e6
    echo(f"Modelo exportado em {out} ({MODEL_FILES[runtime]}, {size:.1f} MB). Para servir: "
         f"SENTIMENT_RUNTIME={runtime} SENTIMENT_MODEL={out} python -m service")
    return report
