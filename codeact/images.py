"""Images for vision models: what counts as one, and the chat message part that carries it.

An image is PNG, JPEG, GIF or WebP bytes (recognised by their first bytes, not by a name), a
PIL image (when Pillow is installed; it is never imported here), a path to such a file, or an
``http(s)://`` or ``data:`` URL. It travels as an OpenAI-style ``image_url`` part with a base64
``data:`` URL, which LiteLLM translates for every provider that takes images.
"""

from __future__ import annotations

import base64
import io
import os
from typing import Any

_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def image_type(data: bytes) -> str | None:
    """The MIME type of image bytes, or ``None`` when they are not an image we know."""
    for signature, mime in _SIGNATURES:
        if data.startswith(signature):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def is_pil_image(value: Any) -> bool:
    """A PIL image, checked without importing Pillow (loaded only if the caller has it)."""
    return any(cls.__module__.startswith("PIL.") and cls.__name__ == "Image" for cls in _mro(value))


def is_image(value: Any) -> bool:
    """Whether a tool's result is an image the model should see (bytes or a PIL image)."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return image_type(bytes(value[:16])) is not None
    return is_pil_image(value)


def image_part(image: Any) -> dict[str, Any]:
    """The ``image_url`` message part for an image, a path to one, or a URL.

    Raises ``ValueError`` or ``TypeError`` (saying what was wrong) for anything else: it is
    the caller's mistake, not the model's.
    """
    return {"type": "image_url", "image_url": {"url": image_url(image)}}


def image_url(image: Any) -> str:
    if isinstance(image, str) and image.startswith(("http://", "https://", "data:image/")):
        return image
    if isinstance(image, (str, os.PathLike)):
        try:
            with open(image, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            raise ValueError(f"cannot read image {os.fspath(image)!r}: {exc.strerror}") from None
        if image_type(data[:16]) is None:
            raise ValueError(
                f"{os.fspath(image)!r} is not a PNG, JPEG, GIF or WebP image (by its content)"
            )
        return _data_url(data)
    if isinstance(image, (bytes, bytearray, memoryview)):
        data = bytes(image)
        if image_type(data[:16]) is None:
            raise ValueError("image bytes must be PNG, JPEG, GIF or WebP (by their first bytes)")
        return _data_url(data)
    if is_pil_image(image):
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        return _data_url(buffer.getvalue())
    raise TypeError(f"images must be paths, bytes, PIL images or URLs, not {type(image).__name__}")


def describe(value: Any) -> str:
    """A short stand-in for an image in text and in the sandbox: ``<image/png, 12,345 bytes>``."""
    if is_pil_image(value):
        return f"<image {value.width}x{value.height}>"
    data = bytes(value)
    return f"<{image_type(data[:16])}, {len(data):,} bytes>"


def _data_url(data: bytes) -> str:
    mime = image_type(data[:16]) or "image/png"
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _mro(value: Any) -> tuple[type, ...]:
    return type(value).__mro__
