"""Exports in the encodings spreadsheets write (Excel's cp1252 CSV, its UTF-16 "Unicode text") import
with their text intact and the report names the encoding; bytes no encoding reads are refused and the
shop already there stays as it was."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from campaign_planner import cli
from campaign_planner.data.column_maps import IMPORT_REPORT_FILE, import_shop
from campaign_planner.data.encoding import EncodingError, decode_export
from campaign_planner.data.shop import ShopDataError, load_shop

# Western European review text with the characters cp1252 and Latin-1 disagree on (’ and €) and accents
# that other single-byte code pages read differently (è is č in cp1250/cp1257).
TEXTS = [
    "Très élégant, the fabric’s lovely",
    "Worth every € of the 49 € price",
    "Café-au-lait colour, naïve print – déjà vu",
]
REVIEWS = "review_id,text,rating\n" + "".join(f'{i},"{t}",{5 - i}\n' for i, t in enumerate(TEXTS))


def test_an_excel_cp1252_export_imports_with_its_text_intact(tmp_path: Path) -> None:
    export = tmp_path / "excel.csv"
    export.write_bytes(REVIEWS.encode("cp1252"))
    shop, report = import_shop(tmp_path / "shop", reviews=export)
    assert shop.reviews["text"].tolist() == TEXTS
    assert report.files["reviews.csv"].encoding == "cp1252"
    assert "cp1252, comma-separated" in report.summary()
    # The canonical file is UTF-8 whatever the export was.
    assert (tmp_path / "shop" / "reviews.csv").read_text(encoding="utf-8").count("€") == 2


def test_a_utf16_export_with_bom_and_tabs_imports_with_its_text_intact(tmp_path: Path) -> None:
    # Excel's "Unicode text" export: UTF-16 LE with a byte-order mark, tab-separated.
    texts = [*TEXTS, "连衣裙很合身，颜色漂亮"]
    tab = "review_id\ttext\trating\n" + "".join(f"{i}\t{t}\t4\n" for i, t in enumerate(texts))
    export = tmp_path / "unicode.txt"
    export.write_bytes(tab.encode("utf-16"))
    shop, report = import_shop(tmp_path / "shop", reviews=export)
    assert shop.reviews["text"].tolist() == texts
    assert report.files["reviews.csv"].encoding == "utf-16 (BOM)"
    assert report.files["reviews.csv"].separator == "tab"
    saved = json.loads((tmp_path / "shop" / IMPORT_REPORT_FILE).read_text(encoding="utf-8"))
    assert saved["files"]["reviews.csv"]["encoding"] == "utf-16 (BOM)"


def test_utf8_stays_utf8_and_a_bom_is_named(tmp_path: Path) -> None:
    assert decode_export("a,b\n1,€\n".encode()) == ("a,b\n1,€\n", "utf-8")
    assert decode_export("\ufeffa,b\n".encode("utf-8")) == ("a,b\n", "utf-8 (BOM)")


def test_an_undeterminable_encoding_is_a_clear_error_and_the_shop_is_untouched(tmp_path: Path) -> None:
    dest = tmp_path / "shop"
    good = tmp_path / "good.csv"
    good.write_text(REVIEWS, encoding="utf-8")
    import_shop(dest, reviews=good, name="Good")
    before = {p.name: p.read_bytes() for p in sorted(dest.iterdir())}
    garbage = tmp_path / "reviews.xlsx.csv"
    garbage.write_bytes(b"review_id,text,rating\n" + os.urandom(4096))
    with pytest.raises(ShopDataError, match=r"reviews.xlsx.csv: the text encoding cannot be determined.*UTF-8"):
        import_shop(dest, reviews=garbage, overwrite=True)
    assert {p.name: p.read_bytes() for p in sorted(dest.iterdir())} == before
    assert load_shop(dest).name == "Good"
    # The same through the CLI: a non-zero exit with the reason, not a traceback.
    result = CliRunner().invoke(cli.app, ["shop", "import", str(dest), "--reviews", str(garbage), "--overwrite"])
    assert result.exit_code != 0
    assert "encoding cannot be determined" in result.output
    assert {p.name: p.read_bytes() for p in sorted(dest.iterdir())} == before


def test_control_characters_mean_no_text_encoding() -> None:
    with pytest.raises(EncodingError, match="control characters"):
        decode_export(b"a,b\n" + bytes(range(32)) * 20)


def test_a_map_can_declare_the_encoding(tmp_path: Path) -> None:
    # Polish text in cp1250: detection would prefer cp1252, so the map says what the export is.
    export = tmp_path / "pl.csv"
    export.write_bytes("review_id,text,rating\n1,Świetna jakość,5\n".encode("cp1250"))
    column_map = tmp_path / "m.yaml"
    column_map.write_text(
        "reviews:\n  encoding: cp1250\n  columns: {review_id: review_id, text: text, rating: rating}\n",
        encoding="utf-8",
    )
    shop, report = import_shop(tmp_path / "shop", reviews=export, column_map=column_map)
    assert shop.reviews["text"].tolist() == ["Świetna jakość"]
    assert report.files["reviews.csv"].encoding == "cp1250"
    column_map.write_text(
        "reviews:\n  encoding: klingon\n  columns: {review_id: review_id, text: text, rating: rating}\n",
        encoding="utf-8",
    )
    with pytest.raises(ShopDataError, match="encoding 'klingon' is not a known text encoding"):
        import_shop(tmp_path / "x", reviews=export, column_map=column_map)
