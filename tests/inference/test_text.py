"""Prompts with the real CLIP BPE vocabulary (the one open_clip_torch ships, as SD1.5 uses): what the library's
prompts cost, and long prompts encoded whole in chunks instead of cut at 77 tokens."""

from __future__ import annotations

import pytest
import torch
from transformers import CLIPTokenizer

from posegen.inference.text import CHUNK_TOKENS, chunks_needed, encode_chunked, token_count
from posegen.inference.tokenizer import CLIP_VOCAB_SIZE, write_clip_tokenizer
from posegen.poses.catalog import build_poses
from posegen.prompts import build_negative_prompt, build_prompt

LONG_USER_PROMPT = (
    "a confident young woman with curly auburn hair tied in a loose bun, wearing a tailored navy blazer over a "
    "cream silk blouse, slim charcoal trousers and white leather sneakers, standing in a bright minimalist studio "
    "with soft window light from the left, a potted fiddle leaf fig in the background, warm color grading, shot "
    "on a 50mm lens at f/2.8, shallow depth of field, subtle film grain, editorial catalogue style, gentle smile, "
    "small gold hoop earrings, a thin leather watch on her left wrist"
)


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory) -> CLIPTokenizer:
    folder = write_clip_tokenizer(tmp_path_factory.mktemp("clip-tokenizer"))
    return CLIPTokenizer.from_pretrained(folder, model_max_length=77)


def test_the_vocabulary_is_clips(tokenizer):
    assert len(tokenizer) == CLIP_VOCAB_SIZE
    ids = tokenizer("a photo of a cat").input_ids
    assert ids == [49406, 320, 1125, 539, 320, 2368, 49407]


def test_every_library_prompt_fits_one_chunk_and_the_user_words_come_first(tokenizer):
    counts = []
    for pose in build_poses():
        prompt = build_prompt(pose_name=pose.name, pose_description=pose.description, user_prompt="red dress")
        assert prompt.startswith("red dress, a person, ")
        counts.append(token_count(tokenizer, prompt))
    assert max(counts) <= CHUNK_TOKENS, max(counts)
    assert chunks_needed(tokenizer, [build_negative_prompt(None)]) == 1


def test_a_long_user_prompt_needs_more_chunks_and_loses_no_token(tokenizer):
    prompt = build_prompt(
        pose_name="Arms crossed", pose_description="standing with arms crossed", user_prompt=LONG_USER_PROMPT
    )
    total = token_count(tokenizer, prompt)
    assert CHUNK_TOKENS < total <= 2 * CHUNK_TOKENS
    assert chunks_needed(tokenizer, [prompt, "short"]) == 2
    cut = tokenizer(prompt, truncation=True, max_length=77).input_ids
    assert len(cut) == 77 and "wrist" not in tokenizer.decode(cut), "plain CLIP encoding drops the tail"


@pytest.fixture(scope="module")
def tiny_pipe(tiny_model):
    from diffusers import ControlNetModel, StableDiffusionControlNetPipeline

    controlnet = ControlNetModel.from_pretrained(tiny_model / "controlnet")
    return StableDiffusionControlNetPipeline.from_pretrained(
        tiny_model, controlnet=controlnet, safety_checker=None, feature_extractor=None, requires_safety_checker=False
    )


def test_one_chunk_is_exactly_diffusers_own_encoding(tiny_pipe):
    prompts = ["a person, walking pose, full body photo", "studio, a person"]
    ours = encode_chunked(tiny_pipe, prompts, 1)
    theirs, _ = tiny_pipe.encode_prompt(prompts, "cpu", 1, False)
    assert torch.equal(ours, theirs)


def test_chunks_encode_every_token_and_pad_with_empty_chunks(tiny_pipe):
    long = "studio, " * 100
    embeds = encode_chunked(tiny_pipe, [long, "short"], 3)
    assert embeds.shape[:2] == (2, 3 * 77)
    empty = encode_chunked(tiny_pipe, [""], 1)
    assert torch.equal(embeds[1, 77:154], empty[0]) and torch.equal(embeds[1, 154:], empty[0])
    with pytest.raises(ValueError, match="does not fit"):
        encode_chunked(tiny_pipe, [long], 2)
