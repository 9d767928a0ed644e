"""Identity conditioning: an SD1.5 IP-Adapter loaded once per worker with diffusers' ``load_ip_adapter``, and the
avatar's image embedding computed once per generation (``prepare_ip_adapter_image_embeds``), then handed to
every pipeline call of that generation as ``ip_adapter_image_embeds``."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from PIL import Image

from posegen.inference.adapters import ENCODER_FOLDER
from posegen.inference.architectures import built_adapter
from posegen.settings import WorkerSettings

log = logging.getLogger("posegen.inference")
OFF = "none"


@dataclass(frozen=True)
class AdapterSource:
    location: str
    """A Hub id or a folder laid out like ``h94/IP-Adapter``."""
    subfolder: str
    weight_name: str
    encoder: str
    """A Hub id or folder of the ``CLIPVisionModelWithProjection``; ``encoder_subfolder`` inside it."""
    encoder_subfolder: str

    def describe(self) -> str:
        return f"{self.location}/{self.subfolder}/{self.weight_name} (encoder {self.encoder}/{self.encoder_subfolder})"


def resolve_adapter(settings: WorkerSettings, base: str) -> AdapterSource | None:
    """``IP_ADAPTER`` when set (``none`` turns identity off); empty means the adapter built with the offline
    model in ``base``, if there is one."""
    location = settings.ip_adapter.strip()
    if location.lower() == OFF:
        return None
    if not location:
        built = built_adapter(base)
        if built is None or not built.is_dir():
            return None
        location = str(built)
    subfolder = settings.ip_adapter_subfolder
    if settings.ip_adapter_image_encoder:
        encoder, encoder_subfolder = settings.ip_adapter_image_encoder, ""
    else:
        encoder, encoder_subfolder = location, f"{subfolder}/{ENCODER_FOLDER}".strip("/")
    return AdapterSource(location, subfolder, settings.ip_adapter_weight_name, encoder, encoder_subfolder)


@dataclass
class IdentityAdapter:
    """The loaded adapter and a neutral embedding (a blank image's) for the calls that run without identity:
    with an adapter loaded the UNet needs image embeddings on every call, and at scale 0 they are skipped."""

    source: AdapterSource
    neutral: object
    load_seconds: float

    @staticmethod
    def embed(pipe, image: Image.Image, *, guidance: bool):
        """The avatar's embedding, laid out as ``ip_adapter_image_embeds`` expects (negative half first when
        classifier-free guidance is on)."""
        import torch

        with torch.inference_mode():
            [embeds] = pipe.prepare_ip_adapter_image_embeds(
                image.convert("RGB"), None, pipe._execution_device, 1, guidance
            )
        return embeds

    def neutral_for(self, *, guidance: bool):
        return self.neutral if guidance else self.neutral.chunk(2)[1]


def load_identity(pipe, source: AdapterSource, *, dtype, device: str) -> IdentityAdapter:
    import time

    from transformers import CLIPVisionModelWithProjection

    started = time.perf_counter()
    encoder_kwargs = {"subfolder": source.encoder_subfolder} if source.encoder_subfolder else {}
    encoder = CLIPVisionModelWithProjection.from_pretrained(source.encoder, dtype=dtype, **encoder_kwargs)
    pipe.register_modules(image_encoder=encoder.to(device))
    pipe.load_ip_adapter(
        source.location, subfolder=source.subfolder, weight_name=source.weight_name, image_encoder_folder=None
    )
    size = encoder.config.image_size
    neutral = IdentityAdapter.embed(pipe, Image.new("RGB", (size, size)), guidance=True)
    return IdentityAdapter(source, neutral, load_seconds=time.perf_counter() - started)
