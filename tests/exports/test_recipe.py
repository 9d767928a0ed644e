"""The ``parameters`` text: written in AUTOMATIC1111's form, read back the way its parser reads it."""

from posegen.recipe import Recipe, format_parameters, model_name, parse_parameters, parse_recipe

RECIPE = Recipe(
    prompt="a person, standing pose, red dress\nsecond line",
    negative_prompt="lowres, blurry",
    steps=20,
    sampler="UniPC",
    cfg_scale=7.5,
    seed=123456789,
    width=512,
    height=768,
    model="stable-diffusion-v1-5/stable-diffusion-v1-5",
    controlnet="lllyasviel/control_v11p_sd15_openpose",
    pose='Hands on hips, "power" stance',
    identity_strength=0.6,
    version="posegen 0.1.0",
)


def test_round_trip():
    assert parse_recipe(format_parameters(RECIPE)) == RECIPE


def test_the_last_line_is_the_web_uis_key_value_form():
    text = format_parameters(RECIPE)
    last = text.split("\n")[-1]
    assert last.startswith("Steps: 20, Sampler: UniPC, CFG scale: 7.5, Seed: 123456789, Size: 512x768, ")
    assert '"Module: openpose, Model: lllyasviel/control_v11p_sd15_openpose, Weight: 1"' in last
    fields = parse_parameters(text)
    assert fields["Prompt"] == RECIPE.prompt and fields["Negative prompt"] == "lowres, blurry"
    assert fields["Pose"] == RECIPE.pose and fields["Identity strength"] == "0.6"


def test_local_model_folders_are_named_by_their_last_component():
    assert model_name("/models/tiny") == "tiny" and model_name("runwayml/stable-diffusion-v1-5") == (
        "runwayml/stable-diffusion-v1-5"
    )
