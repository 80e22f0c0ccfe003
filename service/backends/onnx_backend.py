"""A sequence classifier exported to ONNX (``python -m service export``), run by ONNX Runtime.

Needs neither torch nor ``transformers``: the tokenizer is ``tokenizers`` reading
``tokenizer.json``, the labels come from ``config.json``, the forward pass is one
``InferenceSession.run``. That keeps start-up fast and memory low.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Sequence

from service.backends.common import checked_labels, token_limit
from service.backends.errors import BackendLoadError
from service.backends.revision import directory_revision
from service.memory import release_freed_memory
from service.labels import Classification

log = logging.getLogger(__name__)

# File of each exported runtime inside an export directory.
MODEL_FILES = {"onnx": "model.onnx", "onnx-int8": "model.int8.onnx"}


def available_cpus() -> int:
    """CPUs this process may use: its affinity, capped by a cgroup CPU quota (containers)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    try:  # cgroup v2, as on Cloud Run: "max 100000" or "200000 100000"
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text(encoding="ascii").split()[:2]
        if quota != "max":
            cpus = min(cpus, max(1, round(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cpus)


class OnnxBackend:
    """Loads ``model.onnx`` (fp32) or ``model.int8.onnx`` from an export directory."""

    name = "transformers"

    def __init__(self, model: str, runtime: str = "onnx-int8", threads: int | None = None):
        # pylint: disable=import-outside-toplevel  # only when this runtime is chosen
        import numpy
        import onnxruntime
        from tokenizers import Tokenizer

        if runtime not in MODEL_FILES:
            raise BackendLoadError(f"runtime ONNX desconhecido {runtime!r}: use "
                                   + " ou ".join(MODEL_FILES))
        self.model = model
        self.runtime = runtime
        self._numpy = numpy
        directory = Path(model)
        model_file = directory / MODEL_FILES[runtime]
        missing = [path.name for path in (model_file, directory / "tokenizer.json",
                                          directory / "config.json") if not path.is_file()]
        if missing:
            raise BackendLoadError(
                f"SENTIMENT_RUNTIME={runtime}: {model!r} não é um diretório exportado "
                f"(faltam {', '.join(missing)}). Exporte o modelo uma vez com `python -m service "
                f"export --model {model} --out DIR --runtime {runtime}` e defina SENTIMENT_MODEL=DIR, "
                "ou use SENTIMENT_RUNTIME=torch.")
        try:
            config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
            id2label = {int(key): value for key, value in config["id2label"].items()}
            self._tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        except Exception as exc:  # pylint: disable=broad-exception-caught  # tokenizers raises Exception
            raise BackendLoadError(f"não foi possível ler o modelo exportado {model!r} "
                                   f"({exc.__class__.__name__}: {exc})") from exc
        self.labels = checked_labels(model, id2label)
        self.revision = directory_revision(directory)
        self.max_tokens = token_limit(config.get("max_position_embeddings"))
        self._tokenizer.enable_truncation(self.max_tokens)
        if self._tokenizer.padding is None:  # the export saves the tokenizer's own padding
            pad_id = config.get("pad_token_id", 1)
            self._tokenizer.enable_padding(pad_id=pad_id,
                                           pad_token=self._tokenizer.id_to_token(pad_id) or "<pad>")
        self.threads = threads or available_cpus()
        self.session = self._open(onnxruntime, model_file)
        self.inputs = [item.name for item in self.session.get_inputs()]
        # After every run the arena hands back what it grew for that batch: one long message must not
        # keep the activations of 16 x 512 tokens (about 1 GB) for the life of the process. Measured
        # no slower than keeping it for the usual short batches, and 10-30 MB less resident memory.
        self._run_options = onnxruntime.RunOptions()
        self._run_options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
        self.predict(["aquecendo o modelo"])  # the first run allocates: not a user's wait
        release_freed_memory()
        log.info("loaded %s model %s revision %s (%d threads, labels %s, max %d tokens)",
                 runtime, model, self.revision, self.threads, self.labels, self.max_tokens)

    def _open(self, onnxruntime, model_file: Path):
        """An inference session tuned for a small CPU (see the README's "Runtimes")."""
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        # Threads that spin between operators win a little on an idle machine and lose a lot when
        # the HTTP event loop (or a neighbour) needs the same cores: measured 2x slower when shared.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3  # errors only: no graph-optimizer notices in the logs
        try:
            return onnxruntime.InferenceSession(str(model_file), options,
                                                providers=["CPUExecutionProvider"])
        except Exception as exc:  # pylint: disable=broad-exception-caught  # ORT raises its own types
            raise BackendLoadError(f"o ONNX Runtime não abriu {str(model_file)!r} "
                                   f"({exc.__class__.__name__}: {str(exc).splitlines()[0]})") from exc

    def release_memory(self) -> None:
        """Hand the heap freed by past batches back to the system (the batcher calls this once
        the service has been idle for a second); about 15 MB after a load."""
        release_freed_memory()

    def predict(self, texts: Sequence[str]) -> list[Classification]:
        """Tokenize with padding (truncating at the model's limit) and run one forward pass."""
        if not texts:
            return []
        np = self._numpy
        encodings = self._tokenizer.encode_batch(list(texts))
        ids = np.array([encoding.ids for encoding in encodings], dtype=np.int64)
        feed = {"input_ids": ids,
                "attention_mask": np.array([encoding.attention_mask for encoding in encodings],
                                           dtype=np.int64),
                "token_type_ids": np.zeros_like(ids)}
        logits = self.session.run(None, {name: feed[name] for name in self.inputs},
                                  self._run_options)[0].astype(np.float64)
        logits -= logits.max(axis=1, keepdims=True)
        probs = np.exp(logits)
        probs /= probs.sum(axis=1, keepdims=True)
        return [Classification.from_scores(dict(zip(self.labels, row))) for row in probs.tolist()]
