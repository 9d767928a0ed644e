"""A file's recipe: the generation parameters every PNG carries in a ``parameters`` text chunk, written in
the form AUTOMATIC1111's web UI reads ("PNG Info"), so an image found on a disk can be reproduced::

    a person, standing pose, ...
    Negative prompt: lowres, blurry, ...
    Steps: 20, Sampler: UniPC, CFG scale: 7.5, Seed: 1234, Size: 512x512, Model: stable-diffusion-v1-5, ...

The last line is ``Key: value`` pairs; a value holding a comma, colon or line break is JSON-quoted, as the web
UI quotes it. :func:`parse_parameters` reads the text back the way the web UI's parser does. JPEG exports
carry the same text in their EXIF ``UserComment``, where the web UI reads it in a JPEG.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass
from pathlib import PurePath

PNG_KEY = "parameters"
NEGATIVE = "Negative prompt: "
SAMPLERS = {
    "UniPCMultistepScheduler": "UniPC",
    "DPMSolverMultistepScheduler": "DPM++ 2M",
    "EulerDiscreteScheduler": "Euler",
    "EulerAncestralDiscreteScheduler": "Euler a",
    "DDIMScheduler": "DDIM",
    "PNDMScheduler": "PLMS",
    "LMSDiscreteScheduler": "LMS",
    "HeunDiscreteScheduler": "Heun",
}
EXIF_UNICODE = b"UNICODE\x00"
"""The prefix of an EXIF ``UserComment`` in UTF-16 (big-endian), as the web UI writes JPEG parameters."""
# The web UI's own pattern for one ``Key: value`` pair (modules/infotext_utils.py).
_PAIR = re.compile(r'\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')


def exif_user_comment(text: str) -> bytes:
    """``parameters`` as a JPEG's EXIF ``UserComment`` (where the web UI puts them in a JPEG)."""
    return EXIF_UNICODE + text.encode("utf-16-be")


def from_user_comment(value: bytes) -> str | None:
    if value.startswith(EXIF_UNICODE):
        return value[len(EXIF_UNICODE) :].decode("utf-16-be", errors="replace")
    if value.startswith(b"ASCII\x00\x00\x00"):
        return value[8:].decode("ascii", errors="replace")
    return None


def sampler_name(scheduler: object) -> str:
    """The web UI's name for a diffusers scheduler (its class name when it has none)."""
    name = type(scheduler).__name__
    return SAMPLERS.get(name, name)


def model_name(reference: str) -> str:
    """A model's name: the Hub id as it is, a local folder by its last component."""
    path = PurePath(reference)
    return path.name if path.is_absolute() or reference.startswith(".") else reference


def quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False) if any(c in text for c in ',:\n"') else text


def unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        with contextlib.suppress(ValueError):
            return json.loads(text)
    return text


@dataclass(frozen=True, slots=True)
class Recipe:
    prompt: str
    negative_prompt: str
    steps: int
    sampler: str
    cfg_scale: float
    seed: int
    width: int
    height: int
    model: str
    controlnet: str
    pose: str | None
    identity_strength: float
    version: str

    def fields(self) -> dict[str, str]:
        values = {
            "Steps": str(self.steps),
            "Sampler": self.sampler,
            "CFG scale": f"{self.cfg_scale:g}",
            "Seed": str(self.seed),
            "Size": f"{self.width}x{self.height}",
            "Model": self.model,
            "ControlNet 0": f"Module: openpose, Model: {self.controlnet}, Weight: 1",
            "Pose": self.pose,
            "Identity strength": f"{self.identity_strength:g}",
            "Version": self.version,
        }
        return {key: value for key, value in values.items() if value is not None}


def format_parameters(recipe: Recipe) -> str:
    pairs = ", ".join(f"{key}: {quote(value)}" for key, value in recipe.fields().items())
    return f"{recipe.prompt}\n{NEGATIVE}{recipe.negative_prompt}\n{pairs}"


def parse_parameters(text: str) -> dict[str, str]:
    """``Prompt``, ``Negative prompt`` and every ``Key: value`` of the last line, as the web UI reads them."""
    *lines, last = text.strip().split("\n")
    if len(_PAIR.findall(last)) < 3:
        lines.append(last)
        last = ""
    prompt, negative, in_negative = [], [], False
    for line in lines:
        if line.startswith(NEGATIVE):
            in_negative, line = True, line[len(NEGATIVE) :]
        (negative if in_negative else prompt).append(line)
    found = {"Prompt": "\n".join(prompt), "Negative prompt": "\n".join(negative)}
    for key, value in _PAIR.findall(last):
        found[key.strip()] = unquote(value.strip())
    return found


def parse_recipe(text: str) -> Recipe:
    """The :class:`Recipe` a ``parameters`` text was written from."""
    found = parse_parameters(text)
    width, height = found["Size"].split("x")
    controlnet = re.search(r"Model: ([^,]*)", found.get("ControlNet 0", ""))
    return Recipe(
        prompt=found["Prompt"],
        negative_prompt=found["Negative prompt"],
        steps=int(found["Steps"]),
        sampler=found["Sampler"],
        cfg_scale=float(found["CFG scale"]),
        seed=int(found["Seed"]),
        width=int(width),
        height=int(height),
        model=found["Model"],
        controlnet=controlnet.group(1) if controlnet else "",
        pose=found.get("Pose"),
        identity_strength=float(found.get("Identity strength", 0)),
        version=found.get("Version", ""),
    )
