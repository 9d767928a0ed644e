"""``posegen models``: download the real weights (pinned in models/manifest.toml), verify them, or build the
tiny and full-size random pipelines the tests and benchmarks use. The model stack is imported when the command
runs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from posegen.logs import configure_logging
from posegen.settings import load_settings


def add_parser(commands) -> argparse.ArgumentParser:
    models = commands.add_parser("models", help="download or build the models the worker runs")
    models_commands = models.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    download = models_commands.add_parser(
        "download", help="fetch SD1.5, the OpenPose ControlNet and the identity adapter (needs network)"
    )
    download.add_argument("--write-lock", action="store_true", help="resolve the revisions, record them in MODEL_DIR")
    verify = models_commands.add_parser("verify", help="exit 1 unless every model is whole in MODEL_DIR")
    tiny = models_commands.add_parser("build-tiny", help="build the tiny offline model (random weights)")
    random_full = models_commands.add_parser("build-random", help="SD1.5 + ControlNet architecture, random weights")
    random_full.add_argument("--full-size", action="store_true", help="the real SD1.5 sizes (for speed tests)")
    for sub_parser in (download, verify, tiny, random_full):
        sub_parser.add_argument("--model-dir", default=None, help="instead of MODEL_DIR")
    for sub_parser in (tiny, random_full):
        sub_parser.add_argument("--output", default=None, help="the folder to write")
    return models


def run(args: argparse.Namespace) -> int:
    from posegen.settings import ModelStoreSettings

    settings = load_settings(ModelStoreSettings)
    configure_logging(settings.log_format, settings.log_level)
    model_dir = Path(args.model_dir or settings.model_dir)
    if args.models_command == "download":
        return _download(model_dir, write_lock=args.write_lock)
    if args.models_command == "verify":
        return _verify(model_dir)
    from posegen.inference.architectures import SD15, TINY, build_pipeline
    from posegen.inference.loading import TINY_FOLDER

    if args.models_command == "build-tiny":
        architecture, default_folder = TINY, TINY_FOLDER
    elif args.full_size:
        architecture, default_folder = SD15, "random-sd15-openpose"
    else:
        print("error: build-random needs --full-size (the tiny model is `models build-tiny`)", file=sys.stderr)
        return 2
    folder = build_pipeline(architecture, Path(args.output) if args.output else model_dir / default_folder)
    print(f"built {folder}\nuse it with: MODEL_BASE={folder} MODEL_CONTROLNET={folder / 'controlnet'}")
    return 0


def _download(model_dir: Path, *, write_lock: bool) -> int:
    from posegen.inference import download

    specs = download.load_manifest(model_dir=model_dir)
    try:
        if write_lock:
            lock = download.write_lock(specs=download.load_manifest(locked=False), model_dir=model_dir)
            print(f"wrote {model_dir / download.LOCK_FILE}: " + ", ".join(f"{k}@{v}" for k, v in lock.items()))
            specs = download.load_manifest(model_dir=model_dir)
        folders = download.download_models(model_dir=model_dir, specs=specs)
    except PermissionError as error:
        print(
            f"error: {error}: MODEL_DIR must be writable by this user (docs/deployment.md, 'Shared volumes')",
            file=sys.stderr,
        )
        return 1
    except Exception as error:  # noqa: BLE001 - report any hub/network failure in one line
        wanted = ", ".join(f"{s.repo_id}@{s.revision}" for s in specs)
        print(f"error: could not download {wanted}: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    print(
        "downloaded; use them with:\n"
        f"  MODEL_BASE={folders['base']}\n  MODEL_CONTROLNET={folders['controlnet']}\n"
        f"  IP_ADAPTER={folders['ip_adapter']}\n  IP_ADAPTER_SUBFOLDER=models\n"
        "  IP_ADAPTER_WEIGHT_NAME=ip-adapter-plus-face_sd15.safetensors"
    )
    return 0


def _verify(model_dir: Path) -> int:
    from posegen.inference.download import load_manifest, verify_models

    specs = {spec.role: spec for spec in load_manifest(model_dir=model_dir)}
    problems = verify_models(model_dir=model_dir, specs=list(specs.values()))
    for role, found in problems.items():
        folder = model_dir / specs[role].folder
        if found:
            print(f"{role}: {folder} is not whole: {'; '.join(found)}", file=sys.stderr)
        else:
            print(f"{role}: {folder} is whole ({len(specs[role].files)} files)")
    if any(problems.values()):
        print("run `posegen models download` to complete them", file=sys.stderr)
        return 1
    return 0
