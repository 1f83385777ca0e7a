"""OpenAI message content (strings and parts) as Anthropic content blocks, for outbound requests."""

from __future__ import annotations

from typing import Any

from domain.anthropic.errors import TranslationError
from domain.anthropic.json_fields import JSONObject, as_list, as_object, as_str

# The image types Anthropic accepts; `image/jpg` is a common misspelling of the first.
_IMAGE_MEDIA_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})


def text_blocks(content: Any, field: str) -> list[JSONObject]:
    """Text-only content (system, developer and tool messages) as text blocks; empty text dropped."""
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    blocks: list[JSONObject] = []
    for index, raw_part in enumerate(as_list(content, field)):
        part = as_object(raw_part, f"{field}[{index}]")
        if part.get("type") not in ("text", "refusal"):
            raise TranslationError(f"{field}[{index}].type", "only text parts are allowed here")
        key = "text" if part["type"] == "text" else "refusal"
        text = as_str(part.get(key), f"{field}[{index}].{key}")
        if text:
            blocks.append({"type": "text", "text": text})
    return blocks


def user_blocks(content: Any, field: str) -> list[JSONObject]:
    """A user message's content (text, images, PDF files) as Anthropic blocks; empty text dropped."""
    if content is None or isinstance(content, str):
        return text_blocks(content, field)
    blocks: list[JSONObject] = []
    for index, raw_part in enumerate(as_list(content, field)):
        part_field = f"{field}[{index}]"
        part = as_object(raw_part, part_field)
        kind = part.get("type")
        if kind == "text":
            text = as_str(part.get("text"), f"{part_field}.text")
            if text:
                blocks.append({"type": "text", "text": text})
        elif kind == "image_url":
            blocks.append(_image_block(part.get("image_url"), f"{part_field}.image_url"))
        elif kind == "file":
            blocks.append(_document_block(part.get("file"), f"{part_field}.file"))
        else:
            raise TranslationError(
                f"{part_field}.type", f"content part {kind!r} is not supported by Anthropic"
            )
    return blocks


def _image_block(image_url: Any, field: str) -> JSONObject:
    """An `image_url` part (a data: URL or an http(s) URL) as an Anthropic image block."""
    url = image_url if isinstance(image_url, str) else as_str(as_object(image_url, field).get("url"), field)
    if url.startswith("data:"):
        media_type, data = _split_data_url(url, f"{field}.url")
        if media_type == "image/jpg":
            media_type = "image/jpeg"
        if media_type not in _IMAGE_MEDIA_TYPES:
            raise TranslationError(f"{field}.url", f"image type {media_type!r} is not supported by Anthropic")
        return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}
    if url.startswith(("http://", "https://")):
        return {"type": "image", "source": {"type": "url", "url": url}}
    raise TranslationError(f"{field}.url", "must be a data: URL or an http(s) URL")


def _document_block(file: Any, field: str) -> JSONObject:
    """A `file` part carrying an inline PDF as an Anthropic document block."""
    file_data = as_object(file, field).get("file_data")
    if not isinstance(file_data, str):
        raise TranslationError(f"{field}.file_data", "only inline files (file_data) can be sent to Anthropic")
    media_type, data = _split_data_url(file_data, f"{field}.file_data")
    if media_type != "application/pdf":
        raise TranslationError(f"{field}.file_data", "only PDF files can be sent to Anthropic")
    return {"type": "document", "source": {"type": "base64", "media_type": media_type, "data": data}}


def _split_data_url(url: str, field: str) -> tuple[str, str]:
    """The media type and base64 payload of a `data:<type>;base64,<payload>` URL."""
    header, comma, data = url.partition(",")
    parameters = header.removeprefix("data:").split(";")
    if not comma or "base64" not in parameters[1:] or not data:
        raise TranslationError(field, "must be a base64 data: URL")
    return parameters[0].strip().lower(), data
