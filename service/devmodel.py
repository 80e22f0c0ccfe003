"""Build randomly initialised XLM-RoBERTa sentiment models for tests and benchmarks.

Model weights cannot be downloaded on development and CI machines, so tests and
benchmarks build a model of the right architecture with random weights, save it
with ``save_pretrained`` and load it back through the real loading code, exactly
as a hub checkpoint would be loaded. A random model's labels mean nothing: use
it for shapes, label mapping, batching and speed, never for accuracy.
"""

from __future__ import annotations

import itertools
from pathlib import Path

# A small Portuguese corpus to train the Unigram vocabulary on.
_CORPUS_WORDS = (
    "que serviço horrível estou muito irritado vocês são ótimos parabéns pelo "
    "trabalho a reunião é às quinze horas obrigado pela ajuda não gostei do "
    "atendimento adorei o resultado equipe incrível problema no deploy de novo "
    "bom dia pessoal alguém pode revisar meu código o cliente reclamou demais "
    "excelente notícia semana difícil atraso entrega sucesso falha erro feliz "
    "triste raiva alegria cansado animado projeto prazo sprint tarefa bug teste"
).split()

TINY = {"num_hidden_layers": 2, "hidden_size": 32, "num_attention_heads": 2,
        "intermediate_size": 64, "vocab_size": 1000}
BASE = {"num_hidden_layers": 12, "hidden_size": 768, "num_attention_heads": 12,
        "intermediate_size": 3072, "vocab_size": 250002}

LABEL_SCHEMES = {
    # cardiffnlp/twitter-xlm-roberta-base-sentiment
    "cardiffnlp": {0: "negative", 1: "neutral", 2: "positive"},
    # citizenlab/twitter-xlm-roberta-base-sentiment-finetunned
    "citizenlab": {0: "Negative", 1: "Neutral", 2: "Positive"},
    # a checkpoint saved without names
    "generic": {0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"},
}


def _corpus(lines: int = 400) -> list[str]:
    """Deterministic pseudo-sentences built from the word list."""
    words = _CORPUS_WORDS
    out = []
    for i, combo in enumerate(itertools.islice(itertools.permutations(range(len(words)), 6), lines)):
        out.append(" ".join(words[(j * 7 + i) % len(words)] for j in combo))
    return out


def build_tokenizer(vocab_size: int):
    """Train a small Unigram tokenizer and wrap it as an XLM-RoBERTa tokenizer."""
    # pylint: disable=import-outside-toplevel  # heavy, and only needed here
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import XLMRobertaTokenizer  # the tokenizers-backed (fast) class in v5

    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    tok = Tokenizer(models.Unigram())
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    trainer = trainers.UnigramTrainer(vocab_size=min(vocab_size, 1000) - 1,
                                      special_tokens=specials, unk_token="<unk>")
    tok.train_from_iterator(_corpus(), trainer=trainer)
    vocab = [tuple(item) for item in tok.get_vocab_with_scores()] if hasattr(
        tok, "get_vocab_with_scores") else _vocab_from_json(tok)
    # The trainer orders pieces of equal score differently from run to run; sort them so that
    # the same seed always gives the same token ids, hence the same model outputs.
    head, rest = vocab[:len(specials)], vocab[len(specials):]
    vocab = head + sorted(rest, key=lambda item: (-item[1], item[0]))
    vocab.append(("<mask>", 0.0))
    return XLMRobertaTokenizer(vocab=vocab, model_max_length=512)


def _vocab_from_json(tok) -> list[tuple[str, float]]:
    """Extract (piece, score) pairs from a trained Unigram tokenizer."""
    import json  # pylint: disable=import-outside-toplevel
    data = json.loads(tok.to_str())
    return [(piece, float(score)) for piece, score in data["model"]["vocab"]]


def build_model(path: str | Path, size: str = "tiny", labels: str = "cardiffnlp",
                seed: int = 0, initializer_range: float | None = None) -> Path:
    """Save a random XLM-RoBERTa sequence classifier and its tokenizer to ``path``.

    ``size`` is ``tiny`` (2 layers, hidden 32) or ``base`` (the real XLM-R base
    architecture). ``labels`` picks one of :data:`LABEL_SCHEMES`. ``initializer_range``
    (the standard deviation of the random weights; 0.2 tiny, 0.02 base by default) set
    to about 1 gives a model whose int8 quantization disagrees with it on most texts.
    """
    # pylint: disable=import-outside-toplevel  # heavy, and only needed here
    import torch
    from transformers import XLMRobertaConfig, XLMRobertaForSequenceClassification

    dims = TINY if size == "tiny" else BASE
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer(dims["vocab_size"])
    id2label = LABEL_SCHEMES[labels]
    config = XLMRobertaConfig(
        **dims,
        max_position_embeddings=514,
        type_vocab_size=1,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        initializer_range=initializer_range or (0.2 if size == "tiny" else 0.02),
        id2label=id2label,
        label2id={v: k for k, v in id2label.items()},
    )
    torch.manual_seed(seed)
    model = XLMRobertaForSequenceClassification(config)
    model.eval()
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
