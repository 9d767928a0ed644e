"""Every PNG the worker writes carries its recipe in a ``parameters`` text chunk (AUTOMATIC1111's form) that
parses back to the recorded parameters; each image keeps the keypoints it was generated from."""

import io

from PIL import Image

from posegen import __version__
from posegen.exports.framing import image_keypoints
from posegen.prompts import build_negative_prompt
from posegen.recipe import PNG_KEY, parse_parameters, parse_recipe
from posegen_worker.generation import GenerationRun


def stored_png(runtime, key: str) -> Image.Image:
    image = Image.open(io.BytesIO(runtime.storage.read(key)))
    image.load()
    return image


def test_png_metadata_parses_back_to_the_recorded_parameters(make_runtime, scenario, warm_pipeline):
    runtime = make_runtime()
    generation_id = scenario.generation(poses=2, steps=3, seed=4242, prompt="red dress, studio: white")
    assert GenerationRun(runtime, generation_id).run() == "finished"
    generation = scenario.row(generation_id)
    with scenario.connect() as conn:
        poses = {r["id"]: r for r in conn.execute("SELECT id, name, keypoints FROM poses").fetchall()}
    rows = scenario.images(generation_id)
    assert len(rows) == 2
    for row in rows:
        image = stored_png(runtime, row.image_key)
        text = image.text[PNG_KEY]
        recipe = parse_recipe(text)
        assert recipe.prompt == row.prompt_used and "red dress, studio: white" in recipe.prompt
        assert recipe.negative_prompt == build_negative_prompt(None)
        assert (recipe.steps, recipe.cfg_scale, recipe.seed) == (generation.steps, generation.guidance_scale, row.seed)
        assert (recipe.width, recipe.height) == (generation.width, generation.height) == image.size
        assert recipe.sampler == "UniPC"
        assert recipe.model == warm_pipeline.base.rstrip("/").rsplit("/", 1)[-1]
        assert recipe.controlnet == "controlnet"
        assert recipe.pose == poses[row.pose_id]["name"]
        assert recipe.identity_strength == row.identity_strength == 0.0
        assert recipe.version == f"posegen {__version__}"
        # The web UI's own reading of the last line: its "Key: value" pairs.
        fields = parse_parameters(text)
        assert fields["Steps"] == "3" and fields["Seed"] == str(row.seed) and fields["Size"] == "256x256"
        assert text.split("\n")[1].startswith("Negative prompt: ")
        # Framing data: the guide's keypoints as the control image placed them.
        assert row.guide_pose_id == row.pose_id
        assert row.keypoints == image_keypoints(poses[row.pose_id]["keypoints"], 256, 256)


def test_text_mode_images_name_the_pose_that_guided_them(make_runtime, scenario):
    runtime = make_runtime()
    generation_id = scenario.generation(text="a runner sprinting on a track", variations=1, steps=2)
    assert GenerationRun(runtime, generation_id).run() == "finished"
    [row] = scenario.images(generation_id)
    assert row.pose_id is None and row.guide_pose_id is not None and len(row.keypoints) == 18
    with scenario.connect() as conn:
        name = conn.execute("SELECT name FROM poses WHERE id = %s", (row.guide_pose_id,)).fetchone()["name"]
    recipe = parse_recipe(stored_png(runtime, row.image_key).text[PNG_KEY])
    assert recipe.pose == name and recipe.prompt.startswith("a runner sprinting")
