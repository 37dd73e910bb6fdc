"""Which text encoding an exported CSV is in, and its text.

Shops export from Excel, Shopify, Google Sheets and in-house tools: UTF-8 (with or without a byte-order
mark), Excel's "Unicode text" (UTF-16 with a BOM) and, from Excel's plain "CSV" on Western Windows,
cp1252. UTF-8 stays the fast path: a byte-order mark or a clean UTF-8 decode decides without any
detection. Only bytes that are not UTF-8 go to charset-normalizer.
"""

from __future__ import annotations

import codecs

from charset_normalizer import from_bytes

# Byte-order marks, longest first (the UTF-32 LE mark starts with the UTF-16 LE one).
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Names the report uses for what was read.
_REPORTED = {"utf-8-sig": "utf-8 (BOM)", "utf-16": "utf-16 (BOM)", "utf-32": "utf-32 (BOM)"}
# Single-byte Western and Central European code pages charset-normalizer cannot tell apart on CSV text
# (it ranked "Très" read as cp1250's or cp1257's "Trčs" above cp1252's "Très"): Excel's CSV export on
# Western Windows writes cp1252, so when the best guess is one of these and cp1252 is among the readings
# charset-normalizer accepts, cp1252 is taken. A shop on another code page declares `encoding:`.
_SINGLE_BYTE_FAMILY = frozenset(
    {
        "cp1250",
        "cp1252",
        "cp1257",
        "cp775",
        "cp850",
        "cp852",
        "cp437",
        "latin_1",
        "iso8859_15",
        "iso8859_2",
        "mac_latin2",
        "mac_roman",
        "mac_iceland",
        "hp_roman8",
    }
)
# C0 control characters no CSV text holds: seeing them means the guess (or the file) is wrong.
_CONTROL = frozenset(chr(code) for code in range(32)) - {"\t", "\n", "\r"}


class EncodingError(ValueError):
    """The bytes' encoding cannot be determined, or they do not decode in the declared one."""


def decode_export(data: bytes, declared: str | None = None) -> tuple[str, str]:
    """Return ``(text, encoding)`` for the bytes of one export; ``encoding`` is the name the import
    report shows (``utf-8``, ``utf-8 (BOM)``, ``utf-16 (BOM)``, ``cp1252``, ``gb18030``...).

    ``declared`` (a codec name from the column map) is used as given. Otherwise: a byte-order mark,
    then UTF-8, then charset-normalizer's best reading (cp1252 preferred among Western code pages that
    read the bytes alike). Refuses (EncodingError): bytes that do not decode in ``declared``; bytes no
    encoding reads as text (binary data, a wrong file).
    """
    if declared is not None:
        try:
            return data.decode(declared), declared
        except (UnicodeDecodeError, LookupError) as exc:
            raise EncodingError(f"does not decode as the declared encoding {declared!r} ({exc})") from exc
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(codec), _REPORTED.get(codec, codec)
            except UnicodeDecodeError as exc:
                raise EncodingError(f"starts with a {codec} byte-order mark but does not decode ({exc})") from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        if "\x00" in text[:4096]:  # UTF-16 without a mark decodes as UTF-8 full of NULs
            return _detected(data)
        return text, "utf-8"
    return _detected(data)


def _detected(data: bytes) -> tuple[str, str]:
    matches = list(from_bytes(data))
    if not matches:
        raise EncodingError(
            "the text encoding cannot be determined (not UTF-8, UTF-16 or a code page charset-normalizer "
            "recognises); re-save the export as UTF-8 CSV or declare `encoding:` in the column map"
        )
    best = matches[0]
    encoding = best.encoding
    if encoding in _SINGLE_BYTE_FAMILY:
        accepted = {name for match in matches for name in match.could_be_from_charset}
        if "cp1252" in accepted:
            encoding = "cp1252"
    text = data.decode(encoding)
    if any(char in _CONTROL for char in text[:65_536]):
        raise EncodingError(
            f"the text encoding cannot be determined (the best guess, {encoding}, gives control "
            "characters, so this may not be a text file); re-save the export as UTF-8 CSV or declare "
            "`encoding:` in the column map"
        )
    return text, encoding
