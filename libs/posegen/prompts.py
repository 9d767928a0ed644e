"""How a generation's prompt is written, in one place: the pose, the user's words, a quality suffix and the
negative prompt."""

from __future__ import annotations

QUALITY_SUFFIX = "full body photo, natural lighting, sharp focus, high detail, professional photography"
NEGATIVE_PROMPT = (
    "lowres, blurry, deformed, disfigured, bad anatomy, extra limbs, missing limbs, extra fingers, "
    "mutated hands, cropped, out of frame, watermark, text, logo"
)


def build_prompt(
    *,
    pose_name: str | None,
    pose_description: str | None,
    user_prompt: str | None,
    text_prompt: str | None = None,
) -> str:
    """The user's own words first (CLIP weighs the start of a prompt most; none are cut, see
    ``posegen.inference.text``), then the pose and the quality suffix."""
    parts = [text_prompt, user_prompt]
    if not text_prompt:
        parts.append("a person")
    if pose_name:
        parts.append(f"{pose_name.lower()} pose")
    if pose_description:
        parts.append(pose_description.rstrip("."))
    parts.append(QUALITY_SUFFIX)
    return ", ".join(part.strip() for part in parts if part and part.strip())


def build_negative_prompt(user_negative: str | None) -> str:
    return f"{user_negative}, {NEGATIVE_PROMPT}" if user_negative else NEGATIVE_PROMPT
