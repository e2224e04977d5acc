"""Load an image file from disk as the uint8 RGB array the chapters use (Pillow).

Whatever the file holds -- grayscale, palette, RGBA, CMYK, 16-bit or float samples, a rotated
phone photo, an animated GIF -- :func:`load_image` returns one ``(H, W, 3)`` uint8 array, or raises
:class:`~convvis_lib.errors.ConvVisError` naming the file and saying what is wrong. Transparent
pixels are composited over white. Images larger than ``max_pixels`` are shrunk (with a warning) and
images larger than ``refuse_pixels`` are refused before they are decoded, so a huge or malicious
file cannot exhaust memory.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from .errors import ConvVisError

DEFAULT_MAX_PIXELS = 4096 * 4096       # larger images are downscaled to this many pixels
REFUSE_PIXELS = 100_000_000            # larger images are refused without decoding them
ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")


def _check_limit(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 64:
        raise ConvVisError(f"{name} {value!r} is not allowed; allowed: an int >= 64 (pixels)")
    return value


def _check_path(path: object) -> Path:
    if not isinstance(path, (str, os.PathLike)) or str(path) == "":
        raise ConvVisError(f"image path {path!r} is not allowed; allowed: a non-empty str or pathlib.Path")
    p = Path(path)
    if not p.exists():
        raise ConvVisError(f"image file {str(p)!r} does not exist")
    if not p.is_file():
        raise ConvVisError(f"image path {str(p)!r} is not a file (a folder?); allowed: an image file")
    return p


def _open(path: Path):
    """Open ``path`` lazily (header only); Pillow's own decompression-bomb limit is ours to enforce."""
    from PIL import Image, UnidentifiedImageError
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(path)
    except Image.DecompressionBombError as err:
        raise ConvVisError(f"image {str(path)!r} is too large to load ({err}); allowed: at most "
                           f"{Image.MAX_IMAGE_PIXELS * 2:,} pixels") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as err:
        raise ConvVisError(f"{str(path)!r} is not a readable image file ({type(err).__name__}: {err}); allowed: "
                           f"PNG, JPEG, GIF, BMP, TIFF, WebP and the other formats Pillow reads") from None


def _scaled_size(size: tuple[int, int], max_pixels: int) -> tuple[int, int]:
    w, h = size
    scale = (max_pixels / (w * h)) ** 0.5
    return max(1, int(w * scale)), max(1, int(h * scale))


def _high_depth_to_uint8(img) -> np.ndarray:
    """16-bit / 32-bit integer or float grayscale -> uint8 (16-bit: value / 257; float: [0, 1] or [0, 255])."""
    a = np.asarray(img)
    if np.issubdtype(a.dtype, np.floating):
        a = np.nan_to_num(a.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
        a = a * 255.0 if a.max(initial=0.0) <= 1.0 else a
        return np.clip(np.rint(a), 0, 255).astype(np.uint8)
    a = a.astype(np.int64)
    if a.max(initial=0) > 255 or img.mode.startswith("I;16"):
        a = np.rint(np.clip(a, 0, 65535) / 257.0)
    return np.clip(a, 0, 255).astype(np.uint8)


def _to_rgb(img) -> np.ndarray:
    """Any Pillow mode -> (H, W, 3) uint8; alpha composited over white."""
    from PIL import Image
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ALPHA_MODES:
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(white, rgba).convert("RGB"))
    if img.mode in ("I", "F") or img.mode.startswith("I;16"):
        grey = _high_depth_to_uint8(img)
        return np.repeat(grey[..., None], 3, axis=2)
    return np.asarray(img.convert("RGB"))


def load_image(path: str | os.PathLike, max_pixels: int = DEFAULT_MAX_PIXELS,
               refuse_pixels: int = REFUSE_PIXELS) -> np.ndarray:
    """Read an image file into an ``(H, W, 3)`` uint8 RGB array.

    Grayscale is repeated over three channels, 16-bit samples are scaled to 8 bits, transparency is
    composited over white, EXIF rotation is applied and animated images give their first frame.
    An image of more than ``max_pixels`` pixels is downscaled (aspect ratio kept) with a warning;
    one of more than ``refuse_pixels`` is refused before decoding. Missing, unreadable or corrupt
    files raise :class:`ConvVisError` naming the path.
    """
    from PIL import Image, ImageOps
    max_pixels = _check_limit("max_pixels", max_pixels)
    refuse_pixels = _check_limit("refuse_pixels", refuse_pixels)
    p = _check_path(path)
    original = _open(p)
    try:
        w, h = original.size
        if w * h > refuse_pixels:
            raise ConvVisError(f"image {str(p)!r} is {w}x{h} = {w * h:,} pixels, too large to load; allowed: at most "
                               f"{refuse_pixels:,} pixels (pass refuse_pixels=... to raise the limit)")
        if w * h > max_pixels:
            original.draft(None, _scaled_size((w, h), max_pixels))  # JPEG: decode at a reduced scale (cheap)
        original.load()
        rgb = _to_rgb(ImageOps.exif_transpose(original))
    except ConvVisError:
        raise
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError) as err:
        raise ConvVisError(f"{str(p)!r} is corrupt or truncated and could not be decoded "
                           f"({type(err).__name__}: {err})") from None
    finally:
        original.close()
    if rgb.shape[0] * rgb.shape[1] > max_pixels:
        target = _scaled_size((rgb.shape[1], rgb.shape[0]), max_pixels)
        warnings.warn(f"image {str(p)!r} is {w}x{h} = {w * h:,} pixels (more than max_pixels={max_pixels:,}); "
                      f"downscaled to {target[0]}x{target[1]}", stacklevel=2)
        rgb = np.asarray(Image.fromarray(rgb).resize(target, Image.Resampling.LANCZOS, reducing_gap=3.0))
    return np.ascontiguousarray(rgb, dtype=np.uint8)
