"""Import that never loses data quietly: separators, the csv field limit, skips that empty a group, and
the readable report. Every bad input must fail with its reason and leave the shop already there as it was."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from campaign_planner import cli
from campaign_planner.data.column_maps import IMPORT_REPORT_FILE, import_shop
from campaign_planner.data.shop import CampaignHistorySpec, ShopDataError, load_shop

REVIEWS = "review_id,text,rating\n1,Soft fabric,5\n2,Runs small,2\n3,Lovely,4\n"
SPEC = CampaignHistorySpec(
    control="Holdout", treatment_channels={"Newsletter": "email", "Texts": "sms"}, features=["age"],
    assignment="randomized",
)
CAMPAIGNS = """\
customer_id,treatment,visit,conversion,revenue,age
c1,Holdout,0,0,0,30
c2,Newsletter,1,1,55.5,41
c3,Texts,1,0,0,25
c4,Holdout,1,1,20,52
c5,Newsletter,0,0,0,33
c6,Texts,1,1,12,47
"""
CHANNELS = "period,spend_search,revenue\n2024-01-01,100,1000\n2024-01-08,120,1100\n2024-01-15,90,900\n"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def existing(tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    """A good shop at the destination, and its bytes, which no failed import may change."""
    dest = tmp_path / "shop"
    import_shop(dest, reviews=write(tmp_path / "r.csv", REVIEWS), campaigns=write(tmp_path / "c.csv", CAMPAIGNS),
                channels=write(tmp_path / "ch.csv", CHANNELS), campaign_spec=SPEC, name="Good")
    return dest, snapshot(dest)


def snapshot(dest: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(dest.iterdir())}


def assert_untouched(dest: Path, before: dict[str, bytes]) -> None:
    assert snapshot(dest) == before
    assert load_shop(dest).name == "Good"
    assert [p.name for p in dest.parent.iterdir() if p.name.startswith(".")] == []  # no staging left


def test_semicolon_and_tab_separated_exports_are_read(tmp_path: Path) -> None:
    for name, separator in (("semicolon", ";"), ("tab", "\t")):
        export = write(tmp_path / f"{name}.csv", REVIEWS.replace(",", separator).replace("Runs small", "Runs, small"))
        shop, report = import_shop(tmp_path / name, reviews=export)
        assert shop.reviews["text"].tolist() == ["Soft fabric", "Runs, small", "Lovely"]
        assert report.files["reviews.csv"].separator == name
        assert f"{name}-separated" in report.summary()


def test_a_map_can_name_the_separator(tmp_path: Path) -> None:
    # More commas than semicolons in the header would make sniffing pick the comma.
    export = write(tmp_path / "r.csv", "id;Comment, free text;Stars\n1;Soft, warm, light;5\n")
    column_map = write(
        tmp_path / "m.yaml",
        "reviews:\n  separator: semicolon\n  columns: {id: review_id, 'Comment, free text': text, Stars: rating}\n",
    )
    shop, _ = import_shop(tmp_path / "shop", reviews=export, column_map=column_map)
    assert shop.reviews["text"].tolist() == ["Soft, warm, light"]
    with pytest.raises(ShopDataError, match="separator 'colon' is not one of"):
        bad_map = "reviews:\n  separator: colon\n  columns: {id: review_id, Comment: text, Stars: rating}\n"
        import_shop(tmp_path / "x", reviews=export, column_map=write(tmp_path / "b.yaml", bad_map))


def test_a_field_over_the_csv_limit_is_a_clear_error(tmp_path: Path, existing: tuple[Path, dict[str, bytes]]) -> None:
    dest, before = existing
    huge = "x" * (csv.field_size_limit() + 10)
    export = write(tmp_path / "huge.csv", f'review_id,text,rating\n1,ok,5\n2,"{huge}",4\n3,ok,3\n')
    with pytest.raises(ShopDataError, match=r"huge.csv: the record starting on line 3 has a field longer than "
                                            r"131,072 characters.*unclosed quote"):
        import_shop(dest, reviews=export, overwrite=True)
    assert_untouched(dest, before)


def test_an_unclosed_quote_that_swallows_the_file_is_a_clear_error(
    tmp_path: Path, existing: tuple[Path, dict[str, bytes]]
) -> None:
    dest, before = existing
    rows = "".join(f"{i},fine review number {i} with some words,5\n" for i in range(3, 4000))
    export = write(tmp_path / "quote.csv", f'review_id,text,rating\n1,ok,5\n2,"starts a quote,4\n{rows}')
    with pytest.raises(ShopDataError, match="line 3 has a field longer than"):
        import_shop(dest, reviews=export, overwrite=True)
    assert_untouched(dest, before)


def test_skips_that_remove_every_buyer_fail_with_the_reason(
    tmp_path: Path, existing: tuple[Path, dict[str, bytes]]
) -> None:
    dest, before = existing
    # Revenue written with a currency sign only where there was a sale: every buyer's row is skipped.
    dollars = CAMPAIGNS.replace("55.5", "$55.50").replace(",20,", ",$20,").replace(",12,", ",$12,")
    export = write(tmp_path / "c.csv", dollars)
    expected = r"every buyer \(3 rows.*3 x revenue is not a number >= 0 \(e.g. line 3, 5, 7\)"
    with pytest.raises(ShopDataError, match=expected):
        import_shop(dest, reviews=write(tmp_path / "r.csv", REVIEWS), campaigns=export, campaign_spec=SPEC,
                    overwrite=True)
    assert_untouched(dest, before)


def test_skips_that_remove_every_row_of_a_treatment_fail_with_the_reason(
    tmp_path: Path, existing: tuple[Path, dict[str, bytes]]
) -> None:
    dest, before = existing
    export = write(tmp_path / "c.csv", CAMPAIGNS.replace("Texts,1,", "Texts,yes,"))
    expected = r"every row of treatment 'Texts' \(2 rows\) was skipped.*visit is not 0 or 1"
    with pytest.raises(ShopDataError, match=expected):
        import_shop(dest, reviews=write(tmp_path / "r.csv", REVIEWS), campaigns=export, campaign_spec=SPEC,
                    overwrite=True)
    assert_untouched(dest, before)


def test_channel_periods_outside_the_date_format_fail(tmp_path: Path, existing: tuple[Path, dict[str, bytes]]) -> None:
    dest, before = existing
    export = write(tmp_path / "ch.csv", CHANNELS.replace("2024-01-08", "2024-01"))
    with pytest.raises(ShopDataError, match=r"column 'period': not an ISO date \(YYYY-MM-DD\) on 1 row\(s\), lines 3"):
        import_shop(dest, reviews=write(tmp_path / "r.csv", REVIEWS), channels=export, overwrite=True)
    assert_untouched(dest, before)


def test_the_report_is_a_readable_summary_with_the_full_json_in_the_shop(tmp_path: Path) -> None:
    bad_rows = "".join(f"c{i},Holdout,0,0,n/a,30\n" for i in range(10, 18))
    export = write(tmp_path / "c.csv", CAMPAIGNS + bad_rows + "c1,Texts,0,0,0,20\n")
    dest = tmp_path / "shop"
    _, report = import_shop(dest, reviews=write(tmp_path / "r.csv", REVIEWS), campaigns=export, campaign_spec=SPEC)
    summary = report.summary()
    assert "campaign_history.csv <- " in summary and "15 read, 6 written, 9 skipped" in summary
    assert "8 x skipped: revenue is not a number >= 0 (lines 8, 9, 10, 11, 12, ...)" in summary
    assert "1 x skipped: duplicate customer_id (first on line 2) (lines 16)" in summary
    assert f"full report: {dest / IMPORT_REPORT_FILE}" in summary
    written = json.loads((dest / IMPORT_REPORT_FILE).read_text(encoding="utf-8"))
    assert written == json.loads(report.model_dump_json())
    assert len(written["files"]["campaign_history.csv"]["issues"]) == 9


def test_the_cli_prints_the_summary_and_fails_on_a_bad_import(tmp_path: Path) -> None:
    runner = CliRunner()
    reviews = write(tmp_path / "r.csv", REVIEWS)
    good = runner.invoke(cli.app, ["shop", "import", str(tmp_path / "shop"), "--reviews", str(reviews)])
    assert good.exit_code == 0, good.output
    assert "reviews.csv <- " in good.stdout and "full report:" in good.stdout and '"files"' not in good.stdout
    huge = write(tmp_path / "huge.csv", f'review_id,text,rating\n1,"{"x" * 200_000}",5\n')
    bad = runner.invoke(cli.app, ["shop", "import", str(tmp_path / "shop"), "--reviews", str(huge), "--overwrite"])
    assert bad.exit_code == 65 and "longer than" in bad.stderr and "Traceback" not in bad.output
