"""Prompts longer than CLIP's 77 tokens, encoded whole instead of cut: the tokens are split into chunks of 75,
each chunk is wrapped in start/end tokens and encoded on its own, and the chunks' hidden states are
concatenated (as AUTOMATIC1111 does; SD1.5's cross-attention takes any sequence length). A prompt that fits
one chunk gives exactly what diffusers' own encoding gives."""

from __future__ import annotations

import math

CHUNK_TOKENS = 75


def token_count(tokenizer, text: str) -> int:
    return len(tokenizer(text, add_special_tokens=False, truncation=False, verbose=False).input_ids)


def chunks_needed(tokenizer, texts: list[str]) -> int:
    """Chunks that hold the longest of ``texts`` (every prompt of a generation is encoded with the same
    number, so an image does not depend on which batch it ran in)."""
    return max(1, *(math.ceil(token_count(tokenizer, text) / CHUNK_TOKENS) for text in texts))


def encode_chunked(pipe, texts: list[str], chunks: int):
    """``(len(texts), 77 * chunks, hidden)`` text embeddings; shorter prompts end in empty chunks."""
    import torch

    tokenizer, encoder = pipe.tokenizer, pipe.text_encoder
    bos, eos = tokenizer.bos_token_id, tokenizer.eos_token_id
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos
    rows = []
    for text in texts:
        ids = tokenizer(text, add_special_tokens=False, truncation=False, verbose=False).input_ids
        if len(ids) > chunks * CHUNK_TOKENS:
            raise ValueError(f"a prompt of {len(ids)} tokens does not fit {chunks} chunks")
        for start in range(0, chunks * CHUNK_TOKENS, CHUNK_TOKENS):
            piece = ids[start : start + CHUNK_TOKENS]
            rows.append([bos, *piece, eos] + [pad] * (CHUNK_TOKENS - len(piece)))
    input_ids = torch.tensor(rows, device=encoder.device)
    with torch.inference_mode():
        hidden = encoder(input_ids)[0]
    return hidden.reshape(len(texts), chunks * hidden.shape[1], hidden.shape[2]).to(dtype=encoder.dtype)
