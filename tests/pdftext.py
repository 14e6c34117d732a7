"""The text of a PDF, for tests, without a PDF library (none is installed here).

Enough for the PDFs Chromium (Skia) prints: plain objects, FlateDecode streams,
fonts with ToUnicode CMaps, text drawn with Tj/TJ and hex glyph strings. Uses
pypdf when it is installed (the same answer, from a well-kept library).
"""

from __future__ import annotations

import re
import unicodedata
import zlib

OBJ = re.compile(rb"(\d+) 0 obj(.*?)endobj", re.S)
STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.S)
FONT_REF = re.compile(rb"/(F\d+) (\d+) 0 R")
TO_UNICODE = re.compile(rb"/ToUnicode (\d+) 0 R")
CONTENTS = re.compile(rb"/Contents (\d+) 0 R")
XOBJECT_REF = re.compile(rb"/(X\d+) (\d+) 0 R")
TOKEN = re.compile(rb"/(F\d+) [\d.]+ Tf|<([0-9A-Fa-f]*)>|\((?:\\.|[^\\)])*\)|(TJ|Tj|T\*|Td|TD|Tm|ET|BT|Do)|/(X\d+)")


def _objects(data: bytes) -> dict[int, bytes]:
    return {int(m.group(1)): m.group(2) for m in OBJ.finditer(data)}


def _stream(body: bytes) -> bytes:
    m = STREAM.search(body)
    if m is None:
        return b""
    raw = m.group(1)
    return zlib.decompress(raw) if b"/FlateDecode" in body[: m.start()] else raw


def _cmap(text: bytes) -> dict[int, str]:
    out: dict[int, str] = {}
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", text, re.S):
        for src, dst in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            out[int(src, 16)] = bytes.fromhex(dst.decode()).decode("utf-16-be", "replace")
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", text, re.S):
        for lo, hi, dst in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            start = int(dst, 16)
            for i, code in enumerate(range(int(lo, 16), int(hi, 16) + 1)):
                out[code] = chr(start + i)
    return out


def _fonts(objects: dict[int, bytes], resources: bytes) -> dict[bytes, dict[int, str]]:
    fonts = {}
    for name, ref in FONT_REF.findall(resources):
        font = objects.get(int(ref), b"")
        m = TO_UNICODE.search(font)
        fonts[name] = _cmap(_stream(objects[int(m.group(1))])) if m else {}
    return fonts


def _show(content: bytes, fonts: dict[bytes, dict[int, str]], objects: dict[int, bytes],
          xobjects: dict[bytes, int], out: list[str]) -> None:
    cmap: dict[int, str] = {}
    for m in TOKEN.finditer(content):
        font, hexstr, op, xobj = m.group(1), m.group(2), m.group(3), m.group(4)
        if font:
            cmap = fonts.get(font, {})
        elif hexstr is not None:
            glyphs = bytes.fromhex(hexstr.decode())
            out.append("".join(cmap.get(int.from_bytes(glyphs[i:i + 2], "big"), "")
                               for i in range(0, len(glyphs) - 1, 2)))
        elif op in (b"ET", b"T*", b"Td", b"TD", b"Tm"):
            out.append(" ")
        elif xobj and xobj in xobjects:
            body = objects[xobjects[xobj]]
            _show(_stream(body), {**fonts, **_fonts(objects, body)}, objects, xobjects, out)


def _plain_text(data: bytes) -> str:
    objects = _objects(data)
    out: list[str] = []
    pages = [body for body in objects.values() if re.search(rb"/Type /Page\b", body)]
    for page in pages:
        fonts = _fonts(objects, page)
        xobjects = {name: int(ref) for name, ref in XOBJECT_REF.findall(page)}
        for ref in CONTENTS.findall(page):
            _show(_stream(objects[int(ref)]), fonts, objects, xobjects, out)
        out.append("\n")
    return "".join(out)


def squash(text: str) -> str:
    """Text without any white space and with ligatures spelled out ("ﬁ" -> "fi"): Chromium
    places glyphs one by one, so spaces in the extracted text are not reliable."""
    return "".join(unicodedata.normalize("NFKC", text).split())


def pdf_text(data: bytes) -> str:
    """All the text of the PDF, whitespace collapsed to single spaces."""
    try:
        import io

        from pypdf import PdfReader  # type: ignore[import-not-found]

        text = " ".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(data)).pages)
    except ImportError:
        text = _plain_text(data)
    return " ".join(text.split())
