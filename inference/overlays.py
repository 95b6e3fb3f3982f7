"""PNG overlays for people: Grad-CAM over each crop, and the full image with level boxes.

Drawing uses Pillow; the text font is IPAexGothic, which japanize-matplotlib
ships, so Japanese labels render and no font is ever downloaded. Heat maps use
matplotlib's "jet" colormap (blue low, red high) blended over the grayscale
image. All inputs are uint8 grayscale with bone bright; maps are float in 0..1.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from PIL import Image, ImageDraw, ImageFont

from inference.result import Box

# Colour of each class in boxes and the legend (RGB); red marks the class that leads to MRI.
CLASS_COLOURS: dict[str, tuple[int, int, int]] = {
    "normal": (46, 204, 113),
    "old": (52, 152, 219),
    "fresh": (231, 76, 60),
}
CLASS_LABELS: dict[str, tuple[str, str]] = {
    "normal": ("normal", "正常"),
    "old": ("old fracture", "陳旧性骨折"),
    "fresh": ("fresh fracture", "新鮮骨折"),
}
UNCLASSIFIED_COLOUR = (200, 200, 200)
DEMO_LABEL = "DEMO - not for clinical use / デモ用: 臨床使用不可"
# Overview images are shrunk to this longest side so a report page loads quickly.
MAX_OVERVIEW_SIDE = 2048
# Full-image Grad-CAM maps are coarse (one crop-sized map per vertebra), so a smaller picture shows them fully.
MAX_FULL_CAM_SIDE = 1024
# zlib level 1: several times faster than Pillow's default for large images, for somewhat larger files.
PNG_COMPRESS_LEVEL = 1
# Crop overlays smaller than this are enlarged so a person can see the map.
MIN_CROP_OVERLAY_SIDE = 224
CAM_ALPHA = 0.45


@dataclass(frozen=True)
class LabelledBox:
    """A level box to draw: ``predicted_class`` is None for a box that was not classified."""

    level: str
    box: Box
    predicted_class: str | None = None
    probability: float | None = None


@functools.cache
def _font_path() -> str:
    # Locate the package without importing it: importing japanize_matplotlib reconfigures matplotlib.
    spec = importlib.util.find_spec("japanize_matplotlib")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("japanize-matplotlib is not installed; it provides the IPAexGothic font for overlays")
    return str(Path(spec.submodule_search_locations[0]) / "fonts" / "ipaexg.ttf")


@functools.cache
def font(size: int) -> ImageFont.FreeTypeFont:
    """Return IPAexGothic at ``size`` pixels."""
    return ImageFont.truetype(_font_path(), size)


def blend_heatmap(gray: np.ndarray, cam: np.ndarray, *, alpha: float = CAM_ALPHA) -> np.ndarray:
    """Blend the jet-coloured ``cam`` (same shape, 0..1) over ``gray`` (uint8); return (H, W, 3) uint8 RGB."""
    if gray.shape != cam.shape:
        raise ValueError(f"image and map shapes differ: {gray.shape} and {cam.shape}")
    levels = np.clip(np.asarray(cam, dtype=np.float32) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    heat = _jet_table()[levels]  # (H, W, 3) float32, 0..255
    mixed = (1.0 - alpha) * gray[..., None].astype(np.float32) + alpha * heat
    return np.clip(mixed + 0.5, 0, 255).astype(np.uint8)


@functools.cache
def _jet_table() -> np.ndarray:
    """Return matplotlib's jet colormap as a (256, 3) float32 table of 0..255 RGB values."""
    return (colormaps["jet"](np.linspace(0.0, 1.0, 256))[:, :3] * 255.0).astype(np.float32)


def save_png(image: np.ndarray | Image.Image, path: Path) -> Path:
    """Write ``image`` as PNG, creating the parent folder; return ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    picture = image if isinstance(image, Image.Image) else Image.fromarray(image)
    picture.save(path, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    return path


def save_crop(crop: np.ndarray, path: Path) -> Path:
    """Write a vertebra crop (S, S) uint8 as PNG, enlarged to at least ``MIN_CROP_OVERLAY_SIDE``."""
    return save_png(_enlarge(Image.fromarray(crop)), path)


def save_crop_overlay(crop: np.ndarray, cam: np.ndarray, path: Path, *, box: Box | None = None) -> Path:
    """Write the Grad-CAM ``cam`` over ``crop`` as PNG; ``box`` (crop pixels) outlines the vertebral body."""
    picture = _enlarge(Image.fromarray(blend_heatmap(crop, cam)))
    if box is not None:
        scale = picture.width / crop.shape[1]
        draw = ImageDraw.Draw(picture)
        draw.rectangle(
            [box.x1 * scale, box.y1 * scale, box.x2 * scale, box.y2 * scale], outline=(255, 255, 255), width=1
        )
    return save_png(picture, path)


def _enlarge(picture: Image.Image) -> Image.Image:
    if picture.width >= MIN_CROP_OVERLAY_SIDE:
        return picture
    factor = -(-MIN_CROP_OVERLAY_SIDE // picture.width)
    return picture.resize((picture.width * factor, picture.height * factor), Image.Resampling.BILINEAR)


def _display_scale(shape: tuple[int, int], max_side: int = MAX_OVERVIEW_SIDE) -> float:
    return min(1.0, max_side / max(shape))


def _shrink(picture: Image.Image, scale: float) -> Image.Image:
    if scale >= 1.0:
        return picture
    size = (max(1, round(picture.width * scale)), max(1, round(picture.height * scale)))
    return picture.resize(size, Image.Resampling.BILINEAR)


def save_overview(
    rendering: np.ndarray,
    boxes: Sequence[LabelledBox],
    path: Path,
    *,
    demo: bool,
) -> Path:
    """Write the full image with each level box and label coloured by class, and a legend, as PNG."""
    scale = _display_scale(rendering.shape)
    picture = _shrink(Image.fromarray(rendering).convert("RGB"), scale)
    draw = ImageDraw.Draw(picture)
    text_size = max(12, round(picture.height / 60))
    line_width = max(2, round(picture.height / 400))
    for item in boxes:
        colour = CLASS_COLOURS.get(item.predicted_class or "", UNCLASSIFIED_COLOUR)
        corners = [item.box.x1 * scale, item.box.y1 * scale, item.box.x2 * scale, item.box.y2 * scale]
        draw.rectangle(corners, outline=colour, width=line_width)
        label = item.level
        if item.predicted_class is not None:
            label += f" {item.predicted_class}"
            if item.probability is not None:
                label += f" {item.probability:.2f}"
        _draw_label(draw, (corners[2] + line_width * 2, corners[1]), label, colour, text_size)
    _draw_legend(draw, text_size, demo=demo)
    return save_png(picture, path)


def save_full_image_cam(rendering: np.ndarray, cam: np.ndarray, path: Path, *, demo: bool) -> Path:
    """Write a full-image Grad-CAM map (H, W, 0..1) over the rendering as PNG, at most ``MAX_FULL_CAM_SIDE`` wide or high."""
    scale = _display_scale(rendering.shape, MAX_FULL_CAM_SIDE)
    gray = np.asarray(_shrink(Image.fromarray(rendering), scale))
    heat = np.asarray(_shrink(Image.fromarray(np.asarray(cam, dtype=np.float32)), scale))
    picture = Image.fromarray(blend_heatmap(gray, heat))
    if demo:
        _draw_demo_banner(ImageDraw.Draw(picture), max(12, round(picture.height / 60)))
    return save_png(picture, path)


def _draw_label(
    draw: ImageDraw.ImageDraw, origin: tuple[float, float], text: str, colour: tuple[int, int, int], size: int
) -> None:
    left, top, right, bottom = draw.textbbox(origin, text, font=font(size))
    draw.rectangle([left - 2, top - 2, right + 2, bottom + 2], fill=(0, 0, 0))
    draw.text(origin, text, fill=colour, font=font(size))


def _draw_legend(draw: ImageDraw.ImageDraw, size: int, *, demo: bool) -> None:
    lines = [(f"{english} / {japanese}", CLASS_COLOURS[name]) for name, (english, japanese) in CLASS_LABELS.items()]
    lines.append(("not classified / 未分類", UNCLASSIFIED_COLOUR))
    x, y = size // 2, size // 2
    if demo:
        y = _draw_demo_banner(draw, size) + size // 2
    for text, colour in lines:
        draw.rectangle([x, y + size * 0.15, x + size * 0.8, y + size * 0.95], fill=colour)
        _draw_label(draw, (x + size * 1.2, y), text, (255, 255, 255), size)
        y += round(size * 1.4)


def _draw_demo_banner(draw: ImageDraw.ImageDraw, size: int) -> int:
    """Draw the demo label in the top-left corner and return its bottom edge."""
    origin = (size // 2, size // 2)
    _draw_label(draw, origin, DEMO_LABEL, (255, 220, 0), size)
    return int(draw.textbbox(origin, DEMO_LABEL, font=font(size))[3])

