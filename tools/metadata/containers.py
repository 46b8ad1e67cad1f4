"""Raw metadata text from PNG, WEBP and audio/video files, read with fixed size bounds.

Where ComfyUI puts its ``prompt`` (API format) and ``workflow`` (UI format) JSON:

- PNG (SaveImage, VideoHelperSuite's first-frame PNG): one text chunk per key, ``tEXt``
  (Latin-1), or ``zTXt`` / ``iTXt`` (zlib, UTF-8 for iTXt) when another writer compressed them.
- Animated PNG (SaveAnimatedPNG): private ``comf`` chunks after the image data, laid out like
  ``tEXt`` (``key NUL text``).
- WEBP (SaveAnimatedWEBP): the EXIF chunk; IFD0 tag 0x0110 (Model) holds ``"prompt:<json>"``,
  and the extra keys count down from 0x010F (Make): ``"workflow:<json>"``, then 0x010E
  (ImageDescription) for a second extra key, and so on.
- MP4 / MOV / MKV / WEBM / FLAC ... (SaveVideo, SaveWEBM, VideoHelperSuite's VideoCombine,
  SaveAudio): container tags named ``prompt`` and ``workflow`` (Matroska upper-cases them).

The PNG and RIFF walkers seek past image data and never decode pixels, so no image size can
make them allocate more than the bounds below. Pillow is used only to parse the EXIF block
(``Image.Exif.load``); PyAV (FFmpeg) reads container tags.

Bounds: a metadata chunk larger than ``MAX_CHUNK_BYTES`` (64 MiB) stored bytes, or a text value
larger than ``MAX_TEXT_BYTES`` (16 MiB) after decompression, is refused with ``ValueError``.
Chunks whose keyword is not wanted are skipped without reading their body.
"""

from __future__ import annotations

import logging
import os
import struct
import zlib
from dataclasses import dataclass
from typing import BinaryIO

log = logging.getLogger(__name__)

MAX_CHUNK_BYTES = 64 * 1024 * 1024
"""Largest PNG text chunk or WEBP EXIF chunk read, in stored bytes (64 MiB)."""

MAX_TEXT_BYTES = 16 * 1024 * 1024
"""Largest single metadata text value accepted, in bytes after decompression (16 MiB)."""

WANTED_KEYS = ("prompt", "workflow")
"""Metadata keys returned with their text; other keys are only listed by name."""

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_TEXT_CHUNKS = (b"tEXt", b"zTXt", b"iTXt", b"comf")
_PNG_KEYWORD_MAX = 79
_MIB = 1024 * 1024


@dataclass(frozen=True)
class RawText:
    """One metadata value as stored: ``key`` lower-cased, ``where`` names the chunk or tag."""

    key: str
    text: str
    where: str


@dataclass
class RawMetadata:
    """What a container reader found: the wanted values and the names of all other keys."""

    container: str
    texts: list[RawText]
    other_keys: list[str]


def sniff_container(head: bytes) -> str:
    """``"png"``, ``"webp"`` or ``"av"`` (anything else is handed to FFmpeg) from the first 12 bytes."""
    if head.startswith(PNG_SIGNATURE):
        return "png"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return "av"


def _too_big(what: str, size: int, limit: int) -> ValueError:
    return ValueError(
        f"{what} is {size} bytes ({size / _MIB:.1f} MiB), over the {limit // _MIB} MiB limit for "
        "metadata; the file is corrupt or not written by ComfyUI (the limit stops a crafted file "
        "from exhausting memory)"
    )


def _check_text_size(what: str, size: int) -> None:
    if size > MAX_TEXT_BYTES:
        raise _too_big(what, size, MAX_TEXT_BYTES)


def _inflate(data: bytes, what: str) -> bytes:
    """zlib-decompress at most ``MAX_TEXT_BYTES`` bytes; a larger or broken stream is a ``ValueError``."""
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, MAX_TEXT_BYTES + 1)
    except zlib.error as err:
        raise ValueError(f"{what}: compressed text is corrupt ({err})") from None
    if len(out) > MAX_TEXT_BYTES or inflater.unconsumed_tail:
        raise ValueError(
            f"{what}: decompresses to more than {MAX_TEXT_BYTES // _MIB} MiB, over the limit for a "
            "metadata text value; the file is corrupt or crafted"
        )
    if not inflater.eof:
        raise ValueError(f"{what}: compressed text is truncated")
    return out


def _split_keyword(body: bytes, what: str) -> tuple[str, bytes]:
    nul = body.find(b"\0", 0, _PNG_KEYWORD_MAX + 1)
    if nul < 1:
        raise ValueError(f"{what}: no keyword terminated by NUL within {_PNG_KEYWORD_MAX} bytes; the chunk is corrupt")
    return body[:nul].decode("latin-1"), body[nul + 1 :]


def _decode_png_text(ctype: bytes, rest: bytes, what: str) -> str:
    """Text of a PNG text chunk after its keyword (PNG spec section 11.3.4)."""
    if ctype in (b"tEXt", b"comf"):
        _check_text_size(what, len(rest))
        return rest.decode("latin-1")
    if ctype == b"zTXt":
        if not rest or rest[0] != 0:
            raise ValueError(f"{what}: unknown compression method; the chunk is corrupt")
        return _inflate(rest[1:], what).decode("latin-1")
    # iTXt: flag, method, language NUL, translated keyword NUL, UTF-8 text
    if len(rest) < 2:
        raise ValueError(f"{what}: chunk too short; the chunk is corrupt")
    flag, method = rest[0], rest[1]
    parts = rest[2:].split(b"\0", 2)
    if len(parts) != 3:
        raise ValueError(f"{what}: missing language or translated keyword; the chunk is corrupt")
    data = parts[2]
    if flag == 1:
        if method != 0:
            raise ValueError(f"{what}: unknown compression method; the chunk is corrupt")
        data = _inflate(data, what)
    else:
        _check_text_size(what, len(data))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"{what}: text is not valid UTF-8 ({err.reason} at byte {err.start})") from None


def read_png(handle: BinaryIO, file_size: int) -> RawMetadata:
    """Walk a PNG's chunks up to IEND and return its ``prompt`` / ``workflow`` text chunks.

    Only text chunks are read (keyword first; the body only for a wanted keyword, after the
    ``MAX_CHUNK_BYTES`` check); every other chunk, including all image data, is skipped by seeking.
    The CRC of each text chunk read is checked.
    """
    if handle.read(8) != PNG_SIGNATURE:
        raise ValueError("not a PNG file (bad signature)")
    texts: list[RawText] = []
    other: list[str] = []
    position = 8
    while True:
        head = handle.read(8)
        if not head:
            log.warning("PNG has no IEND chunk (truncated file); using the chunks read so far")
            break
        if len(head) < 8:
            raise ValueError(f"PNG is truncated: a chunk header at byte {position} is cut off")
        length, ctype = struct.unpack(">I4s", head)
        end = position + 12 + length
        if end > file_size:
            raise ValueError(
                f"PNG is truncated or corrupt: chunk {ctype!r} at byte {position} claims {length} bytes, "
                f"past the end of the {file_size}-byte file"
            )
        if ctype == b"IEND":
            break
        if ctype in _PNG_TEXT_CHUNKS:
            peek = handle.read(min(length, _PNG_KEYWORD_MAX + 1))
            what = f"PNG {ctype.decode('latin-1')} chunk at byte {position}"
            keyword, _ = _split_keyword(peek, what)
            what = f"PNG {ctype.decode('latin-1')} chunk {keyword!r}"
            if keyword.lower() in WANTED_KEYS:
                if length > MAX_CHUNK_BYTES:
                    raise _too_big(what, length, MAX_CHUNK_BYTES)
                body = peek + handle.read(length - len(peek))
                crc = handle.read(4)
                if len(crc) < 4 or struct.unpack(">I", crc)[0] != zlib.crc32(ctype + body):
                    raise ValueError(f"{what}: CRC mismatch; the file is corrupt")
                _, rest = _split_keyword(body, what)
                texts.append(RawText(keyword.lower(), _decode_png_text(ctype, rest, what), what))
            else:
                other.append(keyword)
        handle.seek(end)
        position = end
    return RawMetadata("png", texts, other)


def _exif_texts(exif_bytes: bytes) -> tuple[list[RawText], list[str]]:
    """``"key:<json>"`` strings in the IFD0 of an EXIF block (parsed by Pillow)."""
    from PIL import Image

    exif = Image.Exif()
    try:
        exif.load(exif_bytes)
        items = list(exif.items())
    except Exception as err:  # Pillow raises many types for malformed TIFF structures
        raise ValueError(f"WEBP EXIF chunk is not a valid EXIF/TIFF block ({type(err).__name__}: {err})") from None
    texts: list[RawText] = []
    other: list[str] = []
    for tag, value in items:
        if isinstance(value, bytes):
            try:
                value = value.decode("utf-8")
            except UnicodeDecodeError:
                continue
        if not isinstance(value, str) or ":" not in value:
            continue
        key, text = value.split(":", 1)
        what = f"WEBP EXIF tag 0x{tag:04X}"
        if key.lower() in WANTED_KEYS:
            _check_text_size(what, len(text.encode("utf-8")))
            texts.append(RawText(key.lower(), text, what))
        elif key.isidentifier():
            other.append(key)
    return texts, other


def read_webp(handle: BinaryIO, file_size: int) -> RawMetadata:
    """Walk a WEBP's RIFF chunks, read the EXIF chunk (bounded) and return its ComfyUI strings."""
    head = handle.read(12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WEBP":
        raise ValueError("not a WEBP file (bad RIFF header)")
    end_of_riff = min(8 + struct.unpack("<I", head[4:8])[0], file_size)
    position = 12
    texts: list[RawText] = []
    other: list[str] = []
    while position + 8 <= end_of_riff:
        handle.seek(position)
        fourcc, length = struct.unpack("<4sI", handle.read(8))
        if position + 8 + length > file_size:
            raise ValueError(
                f"WEBP is truncated or corrupt: chunk {fourcc!r} at byte {position} claims {length} bytes, "
                f"past the end of the {file_size}-byte file"
            )
        if fourcc == b"EXIF":
            if length > MAX_CHUNK_BYTES:
                raise _too_big("WEBP EXIF chunk", length, MAX_CHUNK_BYTES)
            found, names = _exif_texts(handle.read(length))
            texts.extend(found)
            other.extend(names)
        position += 8 + length + (length & 1)
    return RawMetadata("webp", texts, other)


def read_av(path: str) -> RawMetadata:
    """Container tags of an audio/video file (PyAV); ``prompt`` / ``workflow`` in any letter case.

    A ``comment`` tag is also returned (as key ``comment``) so callers can look inside it when
    the dedicated tags are absent (plain MP4 muxing without ``use_metadata_tags`` keeps only it).
    """
    import av

    try:
        with av.open(path, metadata_errors="strict") as container:
            tags = dict(container.metadata)
            name = container.format.long_name or container.format.name
    except UnicodeDecodeError as err:
        raise ValueError(f"container tags are not valid UTF-8 ({err.reason})") from None
    except av.error.FFmpegError as err:
        raise ValueError(
            f"not a PNG, WEBP or audio/video file FFmpeg can read ({err.strerror or err}); "
            "give a file saved by ComfyUI (PNG, WEBP, MP4, MKV, WEBM, MOV, ...)"
        ) from None
    texts: list[RawText] = []
    other: list[str] = []
    for tag, value in tags.items():
        key = tag.lower()
        if key in WANTED_KEYS or key == "comment":
            what = f"{name} container tag {tag!r}"
            _check_text_size(what, len(value.encode("utf-8")))
            texts.append(RawText(key, value, what))
        else:
            other.append(tag)
    return RawMetadata(name, texts, other)


def read_raw_metadata(path: str | os.PathLike[str]) -> RawMetadata:
    """Pick the reader by the file's first bytes and return what it found."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as handle:
            file_size = os.fstat(handle.fileno()).st_size
            kind = sniff_container(handle.read(12))
            handle.seek(0)
            if kind == "png":
                return read_png(handle, file_size)
            if kind == "webp":
                return read_webp(handle, file_size)
    except OSError as err:
        raise ValueError(f"cannot read IMAGE_OR_VIDEO {path!r}: {err.strerror or err}") from None
    return read_av(path)
