"""The offline IP-Adapters are written in the published h94/IP-Adapter layout, and the worker's settings
choose which adapter and encoder it loads."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors import safe_open

from posegen.inference.adapters import FACE_WEIGHTS, PLAIN_WEIGHTS, _cross_attention_sizes
from posegen.inference.architectures import SD15, TINY, built_adapter
from posegen.inference.identity import resolve_adapter
from posegen.settings import WorkerSettings


def keys_and_shapes(path) -> dict[str, tuple[int, ...]]:
    with safe_open(str(path), framework="pt") as handle:
        return {key: tuple(handle.get_slice(key).get_shape()) for key in handle.keys()}  # noqa: SIM118 - not a dict


def test_the_tiny_model_carries_both_adapters_and_the_encoder_in_the_published_layout(tiny_model):
    folder = built_adapter(tiny_model)
    assert folder == tiny_model / "ip-adapter"
    models = folder / "models"
    encoder = json.loads((models / "image_encoder" / "config.json").read_text())
    assert encoder["architectures"] == ["CLIPVisionModelWithProjection"]
    cross = TINY.unet["cross_attention_dim"]
    plain = keys_and_shapes(models / PLAIN_WEIGHTS)
    assert plain["image_proj.proj.weight"] == (4 * cross, encoder["projection_dim"])
    assert plain["image_proj.norm.weight"] == (cross,)
    ip_keys = sorted(k for k in plain if k.startswith("ip_adapter."))
    numbers = sorted({int(k.split(".")[1]) for k in ip_keys})
    assert numbers == [1, 3, 5, 7] and len(ip_keys) == 8
    face = keys_and_shapes(models / FACE_WEIGHTS)
    dim = TINY.resampler["dim"]
    assert face["image_proj.latents"] == (1, 16, dim)
    assert face["image_proj.proj_in.weight"] == (dim, encoder["hidden_size"])
    assert face["image_proj.proj_out.weight"] == (cross, dim)
    assert face["image_proj.layers.3.0.to_kv.weight"] == (2 * 64 * TINY.resampler["heads"], dim)
    assert face["image_proj.layers.3.1.3.weight"] == (dim, 4 * dim)
    assert {k for k in face if k.startswith("ip_adapter.")} == set(ip_keys)


def test_full_size_sd15_has_sixteen_cross_attention_layers_numbered_one_to_thirty_one():
    from diffusers import UNet2DConditionModel

    with torch.device("meta"):
        unet = UNet2DConditionModel(**SD15.unet)
    sizes = _cross_attention_sizes(unet)
    assert len(sizes) == 16 and 2 * (len(sizes) - 1) + 1 == 31
    assert sorted(set(sizes)) == [320, 640, 1280]


def settings(**values) -> WorkerSettings:
    return WorkerSettings(_env_file=None, jwt_secret="kR8n02K47mtqQWwhR4_GIyAEYe2jmzvNbGqngRunVIou8lPB", **values)


def test_an_empty_setting_takes_the_built_adapter_and_none_turns_it_off(tiny_model, tmp_path):
    built = resolve_adapter(settings(), str(tiny_model))
    assert built.location == str(tiny_model / "ip-adapter") and built.encoder_subfolder == "models/image_encoder"
    assert resolve_adapter(settings(ip_adapter="none"), str(tiny_model)) is None
    assert resolve_adapter(settings(), str(tmp_path)) is None, "a real model without IP_ADAPTER has none"


def test_a_configured_adapter_and_a_separate_encoder():
    source = resolve_adapter(
        settings(
            ip_adapter="h94/IP-Adapter",
            ip_adapter_weight_name="ip-adapter_sd15.safetensors",
            ip_adapter_image_encoder="/models/encoder",
        ),
        "/models/sd15",
    )
    assert (source.location, source.subfolder, source.weight_name) == (
        "h94/IP-Adapter",
        "models",
        "ip-adapter_sd15.safetensors",
    )
    assert (source.encoder, source.encoder_subfolder) == ("/models/encoder", "")


@pytest.mark.parametrize("name", ["../x.safetensors", "weights.pt", ""])
def test_a_weight_file_name_is_checked_at_start(name):
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        settings(ip_adapter_weight_name=name)
