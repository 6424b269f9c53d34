"""Reading and writing images: the course's one decode-and-resize path.

Introduced in notebook 01 (classifying a photo). Every photo the course reads,
in training, prediction, evaluation and grading, goes through :func:`load_image`:
the tf.data pipelines in :mod:`helpers.data.pipeline` call it too. So a photo looks
the same to a model whichever door it comes in by:

* decoded by Pillow, whatever its format and mode (grayscale, palette, CMYK,
  16-bit; alpha composited on white); the first frame of an animation;
* turned upright by its EXIF orientation (phone photos);
* a JPEG at least twice as large as needed is decoded at reduced scale by the
  JPEG decoder itself (``Image.draft``, DCT scaling), which is much cheaper;
* resized to a square with Pillow's antialiased bilinear filter.

Images over ``TL_MAX_PIXELS`` pixels, or with more than ``TL_MAX_FRAMES``
frames, are refused as possible decompression bombs.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from helpers import settings

# the file names the course reads as images: folder scans (helpers.data.folders) and
# manifest checks (helpers.data.sources) count the same files
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff"}


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


def open_image(path, max_pixels=None, size=None) -> Image.Image:
    """Open and fully decode ``path`` as upright RGB, or raise :class:`ImageError`
    saying why. With ``size``, a large JPEG is decoded at reduced scale, never
    below ``size`` on its short side."""
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
                frames = getattr(img, "n_frames", 1)
                if frames > settings.max_frames():
                    raise ImageError(
                        f"{path}: {frames} frames is over the limit of {settings.max_frames()} "
                        "(an animation bomb?); save its first frame as a still image or "
                        "raise TL_MAX_FRAMES")
                img.seek(0)  # first frame of an animation
                if size is not None and img.format == "JPEG":
                    img.draft("RGB", (size, size))  # DCT scaling, short side stays >= size
                img.load()
                return to_rgb(ImageOps.exif_transpose(img))
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ImageError(f"{path}: too many pixels ({e})") from e
    except Image.UnidentifiedImageError:
        raise ImageError(f"{path}: not an image file that Pillow can read "
                         "(wrong extension, or not an image at all)") from None
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise ImageError(f"{path}: damaged image ({e}); re-download or remove it") from e


def load_image(path, size=224) -> np.ndarray:
    """An image file as a float32 array in 0..255, shape (size, size, 3). Notebook 01.

    The course's one path from a file to pixels (see the module's docstring);
    ``size=None`` keeps the original size. Resizing squashes to a square.
    """
    img = open_image(path, size=size)
    if size is not None:
        img = img.resize((size, size), Image.Resampling.BILINEAR)
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
