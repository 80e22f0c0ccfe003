"""``python -m service evaluate`` and ``python -m service gate`` as CI and the deploy run them."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from service.backends.revision import directory_revision

ROOT = Path(__file__).resolve().parents[2]
KEYS = {"accuracy", "macro_f1", "per_class", "confusion", "ece", "n", "model", "revision",
        "backend", "runtime", "thresholds", "messages_per_second", "skipped"}
ROWS = [
    {"text": "Deploy feito, tudo verde! :tada:", "label": "positive"},
    {"text": "<@U024BE7LH> quebrou produção de novo, que raiva", "label": "negativo"},
    {"text": "A daily vai ser às 9h30", "label": "neutral"},
    {"text": "Vocês são ótimos, parabéns pelo trabalho!", "label": "Positivo"},
    {"text": "Que serviço horrível, estou muito irritado", "label": "negative"},
    {"text": "Segue o link: <https://example.com|relatório>", "label": "neutro"},
]


def run(*args, timeout=180, **env):
    """Run ``python -m service ARGS`` offline with ``env`` added."""
    environ = {key: value for key, value in os.environ.items()
               if not key.startswith(("SENTIMENT_", "MODEL_MIN", "MODEL_MAX"))}
    environ.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", **env)
    return subprocess.run([sys.executable, "-m", "service", *args], cwd=ROOT, env=environ,
                          capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(name="data")
def labelled_file(tmp_path):
    """Six good rows, then an empty text and an unknown label (lines 7 and 8)."""
    path = tmp_path / "set.jsonl"
    lines = [json.dumps(row, ensure_ascii=False) for row in ROWS]
    lines += ['{"text": "", "label": "neutral"}', '{"text": "ok", "label": "bom"}']
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_evaluate_the_tiny_model_writes_the_agreed_json(tiny_model_dir, data, tmp_path):
    """CI's check that the command cannot rot: the real CLI on the tiny transformer."""
    out = tmp_path / "figures.json"
    done = run("evaluate", "--data", str(data), "--format", "json", "--out", str(out),
               SENTIMENT_MODEL=tiny_model_dir, SENTIMENT_BACKEND="transformers")
    assert done.returncode == 0, done.stderr
    report = json.loads(out.read_text(encoding="utf-8"))
    assert set(report) == KEYS
    assert (report["n"], report["model"], report["backend"], report["runtime"]) == (
        6, tiny_model_dir, "transformers", "torch")
    assert report["revision"] == directory_revision(tiny_model_dir)
    assert sum(sum(row.values()) for row in report["confusion"].values()) == 6
    assert [row["line"] for row in report["skipped"]] == [7, 8]
    assert f"{data}:7: texto vazio" in done.stderr and f"{data}:8: rótulo desconhecido" in done.stderr
    assert "Traceback" not in done.stderr


def test_evaluate_goes_through_the_same_pipeline_as_classify(data):
    """The confusion matrix is exactly what `classify` (the service's path) answers per text."""
    answers = run("classify", *[row["text"] for row in ROWS], SENTIMENT_BACKEND="lexicon")
    assert answers.returncode == 0, answers.stderr
    predicted = [result["label"] for result in json.loads(answers.stdout)["results"]]
    done = run("evaluate", "--data", str(data), "--format", "json", SENTIMENT_BACKEND="lexicon")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    truth = ["positive", "negative", "neutral", "positive", "negative", "neutral"]
    expected = {t: {p: 0 for p in ("negative", "neutral", "positive")} for t in set(truth)}
    for true, pred in zip(truth, predicted):
        expected[true][pred] += 1
    assert report["confusion"] == expected
    assert report["accuracy"] == pytest.approx(sum(map(str.__eq__, truth, predicted)) / 6, abs=1e-6)
    assert report["revision"].startswith("lexicon-")


def test_evaluate_prints_a_table_by_default(data):
    """The default table names the model and shows macro-F1 and the confusion matrix."""
    done = run("evaluate", "--data", str(data), SENTIMENT_BACKEND="lexicon")
    assert done.returncode == 0, done.stderr
    assert "Modelo: LeIA" in done.stdout and "| F1 macro |" in done.stdout
    assert "| verdadeiro \\ previsto |" in done.stdout


def test_evaluate_reads_csv(tmp_path):
    """A CSV with text and label columns is read the same way."""
    path = tmp_path / "set.csv"
    path.write_text("text,label\nQue dia ótimo,positivo\nReunião às 15h,neutral\n", encoding="utf-8")
    done = run("evaluate", "--data", str(path), "--format", "json", SENTIMENT_BACKEND="lexicon")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["n"] == 2


@pytest.mark.parametrize("name", ["missing.jsonl", "folder"])
def test_an_unreadable_file_is_a_clear_error_and_exit_2(tmp_path, name):
    """A missing file or a directory: one Portuguese line, exit status 2, no traceback."""
    (tmp_path / "folder").mkdir()
    done = run("evaluate", "--data", str(tmp_path / name), SENTIMENT_BACKEND="lexicon")
    assert done.returncode == 2
    assert done.stderr.startswith("Erro: ") and "Traceback" not in done.stderr


def test_a_file_without_any_valid_row_is_exit_2(tmp_path):
    """Only bad rows: each reported, then an error."""
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "oi"}\nnão é json\n', encoding="utf-8")
    done = run("evaluate", "--data", str(path), SENTIMENT_BACKEND="lexicon")
    assert done.returncode == 2
    assert ":1:" in done.stderr and ":2:" in done.stderr and "nenhuma linha válida" in done.stderr


def test_the_gate_cli_passes_refuses_and_rejects_bad_input(data, tmp_path):
    """On a real evaluation: exit 0 within the limits, 1 refused (with the reason), 2 bad input."""
    figures = tmp_path / "new.json"
    done = run("evaluate", "--data", str(data), "--format", "json", "--out", str(figures),
               SENTIMENT_BACKEND="lexicon")
    assert done.returncode == 0, done.stderr
    score = json.loads(figures.read_text(encoding="utf-8"))["macro_f1"]
    better = tmp_path / "previous.json"
    better.write_text(json.dumps({"macro_f1": min(1.0, score + 0.05), "n": 6}), encoding="utf-8")

    passed = run("gate", "--candidate", str(figures), "--baseline", str(tmp_path / "none.json"),
                 "--min-macro-f1", "0", "--max-drop", "0.02")
    assert passed.returncode == 0, passed.stderr
    assert passed.stdout.startswith("APROVADO") and "não existe" in passed.stderr

    refused = run("gate", "--candidate", str(figures), "--baseline", str(better),
                  MODEL_MIN_MACRO_F1="0", MODEL_MAX_F1_DROP="0.01")
    assert refused.returncode == 1
    assert refused.stderr.startswith("RECUSADO") and "MODEL_MAX_F1_DROP" in refused.stderr

    bad = run("gate", "--candidate", str(data), "--min-macro-f1", "0.5")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
