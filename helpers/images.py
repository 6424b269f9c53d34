"""Reading and writing single images of any format and mode.

Introduced in notebook 01 (classifying a photo). The tf.data pipelines in
:mod:`helpers.pipeline` decode in TensorFlow; this module is for single files
(the ``predict``, ``dream`` and ``attack`` commands, and the notebooks' photos),
where every odd mode must simply work: grayscale, palette, CMYK, 16-bit,
alpha (composited on white).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image

from helpers import settings


class ImageError(ValueError):
    """An image file that cannot be used; the message names the file and the reason."""


def to_rgb(img: Image.Image) -> Image.Image:
    """Convert a PIL image of any mode to 8-bit RGB (alpha composited on white)."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if arr.max() > 255 else 255.0
        arr = np.clip(arr / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(arr, mode="L").convert("RGB")
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        img = img.convert("RGBA")
        background = Image.new("RGBA", img.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, img).convert("RGB")
    if img.mode != "RGB":
        return img.convert("RGB")
    return img


def open_image(path, max_pixels=None) -> Image.Image:
    """Open and fully decode ``path`` as RGB, or raise :class:`ImageError` saying why."""
    path = Path(path)
    limit = max_pixels or settings.max_pixels()   # refuse decompression bombs early
    if not path.exists():
        raise ImageError(f"{path}: no such file (check the path)")
    if path.is_dir():
        raise ImageError(f"{path}: is a folder, not an image file")
    if path.stat().st_size == 0:
        raise ImageError(f"{path}: empty file (0 bytes); replace it with a real image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                if img.width * img.height > limit:
                    raise ImageError(
                        f"{path}: {img.width}x{img.height} pixels is over the limit of "
                        f"{limit} (a decompression bomb?); shrink it or raise TL_MAX_PIXELS")
                img.seek(0)  # first frame of a GIF
                img.load()
                return to_rgb(img)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ImageError(f"{path}: too many pixels ({e})") from e
    except Image.UnidentifiedImageError:
        raise ImageError(f"{path}: not an image file that Pillow can read "
                         "(wrong extension, or not an image at all)") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise ImageError(f"{path}: damaged image ({e}); re-download or remove it") from e


def load_image(path, size=224) -> np.ndarray:
    """An image file as a float32 array in 0..255, shape (size, size, 3). Notebook 01.

    ``size=None`` keeps the original size. Resizing squashes to a square, as the
    tf.data pipelines do (bilinear).
    """
    img = open_image(path)
    if size is not None:
        if isinstance(size, int):
            size = (size, size)
        img = img.resize((size[1], size[0]), Image.Resampling.BILINEAR)
    return np.asarray(img, dtype=np.float32)


def resize_array(image, size=224) -> np.ndarray:
    """Resize an RGB array (e.g. ``skimage.data.chelsea()``) to float32 (size, size, 3)."""
    img = Image.fromarray(np.clip(np.asarray(image), 0, 255).astype(np.uint8)).convert("RGB")
    if isinstance(size, int):
        size = (size, size)
    return np.asarray(img.resize((size[1], size[0]), Image.Resampling.BILINEAR),
                      dtype=np.float32)


def save_png(image, path) -> Path:
    """Save a 0..255 RGB array as an 8-bit PNG (rounded, clipped). Notebook 04."""
    path = Path(path)
    arr = np.clip(np.rint(np.asarray(image, dtype=np.float64)), 0, 255).astype(np.uint8)
    if path.parent and not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr, mode="RGB").save(path, format="PNG")
    return path
