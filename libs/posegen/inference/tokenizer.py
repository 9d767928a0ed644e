"""SD1.5's CLIP BPE tokenizer, written offline from the vocabulary that ``open_clip_torch`` ships in its wheel
(``bpe_simple_vocab_16e6.txt.gz``, the file OpenAI's CLIP tokenizer reads), so the tiny model counts and
cuts tokens exactly as the real model does."""

from __future__ import annotations

import gzip
import importlib.util
import json
from pathlib import Path

CLIP_MERGES = 49152 - 256 - 2
"""OpenAI's tokenizer reads lines 1..48894 of the file as merges; the vocabulary is then 49408 tokens."""
CLIP_VOCAB_SIZE = 49408


def bundled_bpe_file() -> Path:
    spec = importlib.util.find_spec("open_clip")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("open_clip_torch is not installed; it carries CLIP's BPE vocabulary")
    path = Path(next(iter(spec.submodule_search_locations))) / "bpe_simple_vocab_16e6.txt.gz"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing from the open_clip_torch install")
    return path


def write_clip_tokenizer(folder: Path) -> Path:
    """``vocab.json`` + ``merges.txt`` of the real CLIP vocabulary (49,408 tokens), loadable with
    ``CLIPTokenizer.from_pretrained(folder)``; the byte alphabet is GPT-2/CLIP's reversible map of bytes to
    printable characters, as transformers' tokenizer converter builds it."""
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    with gzip.open(bundled_bpe_file(), "rt", encoding="utf-8") as handle:
        lines = handle.read().split("\n")
    merges = lines[1 : CLIP_MERGES + 1]
    symbols = list(bytes_to_unicode().values())
    vocab = symbols + [symbol + "</w>" for symbol in symbols] + ["".join(m.split()) for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    if len(vocab) != CLIP_VOCAB_SIZE:
        raise ValueError(f"the BPE file gave {len(vocab)} tokens, not CLIP's {CLIP_VOCAB_SIZE}")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps({token: i for i, token in enumerate(vocab)}), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")
    return folder
