"""Looking inside a PDF file for the render tests."""

from __future__ import annotations

import re
import zlib


def inflated(raw: bytes) -> bytes:
    """The PDF with every Flate stream decompressed appended (to find catalog entries in object streams)."""
    parts = [raw]
    for m in re.finditer(rb"stream\r?\n(.*?)endstream", raw, re.S):
        try:
            parts.append(zlib.decompress(m.group(1)))
        except zlib.error:
            pass
    return b"\n".join(parts)
