"""A line of text stamped onto the first page of a finished PDF (a student's name and id on the variant's
handout), without typesetting it again.

The stamp is an incremental update (pypdf's `incremental=True`): the variant's PDF is kept byte for
byte and a new content stream, a font and the first page's new dictionary are appended after it, so a
stamp costs a few milliseconds whatever the size of the document.  The text is set in Helvetica, one
of the 14 fonts every PDF reader has, with Windows-1252 encoding: Latin letters with their accents
print as they are, other characters as '?'.
"""
from __future__ import annotations

from pathlib import Path

from pypdf import PdfWriter
from pypdf.generic import ArrayObject, DecodedStreamObject, DictionaryObject, NameObject

_FONT = NameObject("/FStamp")
_SIZE = 9          # points
_FROM_TOP = 24     # points from the top edge of the page: inside the margin, above the documents' header


def _literal(text: str) -> bytes:
    """A PDF string literal of the text, in Windows-1252 (WinAnsiEncoding)."""
    raw = text.encode("cp1252", errors="replace")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def stamp(source: Path, target: Path, text: str) -> None:
    """Write `target`: `source` with `text` on one line at the top left of its first page."""
    writer = PdfWriter(source, incremental=True)
    page = writer.pages[0]
    box = page.mediabox
    x, y = float(box.left) + 72, float(box.top) - _FROM_TOP
    resources = page.setdefault(NameObject("/Resources"), DictionaryObject())
    fonts = resources.get_object().setdefault(NameObject("/Font"), DictionaryObject())
    fonts.get_object()[_FONT] = writer._add_object(DictionaryObject({   # the standard font, no file embedded
        NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
        NameObject("/BaseFont"): NameObject("/Helvetica"), NameObject("/Encoding"): NameObject("/WinAnsiEncoding")}))
    # the page's own streams between q and Q, so that whatever state they leave the stamp starts afresh
    before, after = DecodedStreamObject(), DecodedStreamObject()
    before.set_data(b"q\n")
    after.set_data(b"\nQ q BT " + _FONT.encode() + f" {_SIZE} Tf 0 g {x:.2f} {y:.2f} Td ".encode()
                   + _literal(text) + b" Tj ET Q\n")
    own = page.raw_get("/Contents") if "/Contents" in page else ArrayObject()   # a blank page has none
    resolved = own.get_object()
    streams = list(resolved) if isinstance(resolved, ArrayObject) else [own]
    page[NameObject("/Contents")] = ArrayObject([writer._add_object(before), *streams, writer._add_object(after)])
    writer.write(target)
