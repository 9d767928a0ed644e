"""No user word is cut from a prompt: a user prompt past CLIP's 77 tokens still shapes the image."""

from __future__ import annotations

import numpy as np

from posegen_worker.generation import GenerationRun

from ..inference.test_text import LONG_USER_PROMPT
from .test_generation import stored_image


def image_for(runtime, scenario, prompt: str) -> np.ndarray:
    generation_id = scenario.generation(poses=1, steps=3, seed=11, prompt=prompt)
    assert GenerationRun(runtime, generation_id).run() == "finished"
    [row] = scenario.images(generation_id)
    assert row.prompt_used.startswith(prompt)
    return stored_image(runtime, row.image_key)


def test_the_last_word_of_a_long_prompt_changes_the_image(make_runtime, scenario, warm_pipeline):
    runtime = make_runtime()
    left = image_for(runtime, scenario, LONG_USER_PROMPT)
    right = image_for(runtime, scenario, LONG_USER_PROMPT.replace("left wrist", "right wrist"))
    assert not np.array_equal(left, right)
    tokenizer = warm_pipeline.pipe.tokenizer
    position = len(tokenizer(LONG_USER_PROMPT.rsplit(" left wrist", 1)[0], add_special_tokens=False).input_ids)
    assert position > 77, "the changed word lies past what plain CLIP encoding keeps"
