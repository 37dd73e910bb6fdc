"""The shop data layer: loading canonical shop folders, column maps and importing exports."""

from __future__ import annotations

import gzip
import hashlib
import time
from pathlib import Path

import pandas as pd
import pytest

from campaign_planner.data.column_maps import (
    BUILTIN_MAPS,
    ColumnMapError,
    detect_column_map,
    import_shop,
    load_column_map,
)
from campaign_planner.data.shop import CampaignHistorySpec, ShopDataError, load_shop, load_shop_with_report
from tests.conftest import dataset

SHOP_YAML = """\
name: Test Shop
currency: EUR
campaign_history:
  control: Holdout
  treatment_channels: {Newsletter: email, Texts: sms}
  features: [age]
"""
REVIEWS = """\
review_id,text,title,rating,age,department
007,Lovely soft fabric,Soft,5,34,Tops
8,"Runs small, too tight in the waist",Small,2,41,Bottoms
9,,No text,4,29,Dresses
"""
CAMPAIGNS = """\
customer_id,treatment,visit,conversion,revenue,age
c1,Holdout,0,0,0,30
c2,Newsletter,1,1,55.5,41
c3,Texts,1,0,0,25
c4,Holdout,1,0,0,52
"""
CHANNELS = """\
period,spend_email,spend_search,revenue
2024-01-08,100,2000,15000
2024-01-01,120,1500,14000
2024-01-15,90,2500,16500
"""


def write_shop(root: Path, **files: str) -> Path:
    """Write a shop folder; each keyword is a file name with '.' as '__' (reviews__csv=...)."""
    root.mkdir(parents=True, exist_ok=True)
    contents = {"shop.yaml": SHOP_YAML, "reviews.csv": REVIEWS}
    contents.update({name.replace("__", "."): text for name, text in files.items()})
    for name, text in contents.items():
        if text is not None:
            (root / name).write_text(text, encoding="utf-8")
    return root


# --- loading ---------------------------------------------------------------------------------------


def test_canonical_shop_loads_with_types_hashes_and_report(tmp_path: Path) -> None:
    root = write_shop(tmp_path / "shop", campaign_history__csv=CAMPAIGNS, channel_history__csv=CHANNELS)
    shop, report = load_shop_with_report(root)

    assert (shop.name, shop.currency) == ("Test Shop", "EUR")
    assert shop.reviews["review_id"].tolist() == ["007", "8", "9"]  # ids stay text, leading zeros kept
    assert shop.reviews["rating"].dtype == "int64"
    assert shop.reviews["age"].tolist() == [34, 41, 29]
    # Optional columns the file lacks are present and empty, so tools need not check for them.
    assert shop.reviews["category"].eq("").all() and shop.reviews["recommended"].isna().all()
    assert report.files["reviews.csv"].missing_optional_columns == [
        "category", "product_id", "recommended", "customer_id"
    ]
    assert report.empty_text_review_ids == ["9"]
    assert shop.reviews_with_text()["review_id"].tolist() == ["007", "8"]

    assert shop.campaign_spec is not None and shop.campaign_spec.control == "Holdout"
    assert shop.campaign_history["conversion"].tolist() == [0, 1, 0, 0]
    assert shop.campaign_history["age"].dtype.kind in "if"
    history = shop.channel_history
    assert history["period"].dt.strftime("%Y-%m-%d").tolist() == ["2024-01-01", "2024-01-08", "2024-01-15"]
    assert shop.history_channels == ["email", "search"]
    assert any("sorted" in w for w in report.files["channel_history.csv"].warnings)

    for name in ("reviews.csv", "campaign_history.csv", "channel_history.csv", "shop.yaml"):
        assert shop.data_hashes[name] == hashlib.sha256((root / name).read_bytes()).hexdigest()
    assert not report.degraded and report.rows_skipped == 0


@pytest.mark.parametrize(
    ("brand", "expected"),
    [
        ("tone: [warm\n", "not valid YAML"),
        ("tone: warm\nvoice: loud\n", "voice"),
        ("legal_footer: Terms apply.\nfooter_channels: [email, fax]\n", "['fax']"),
    ],
)
def test_a_brand_yaml_the_copywriter_cannot_use_is_refused_at_load(tmp_path: Path, brand: str, expected: str) -> None:
    root = write_shop(tmp_path / "shop", brand__yaml=brand)
    with pytest.raises(ShopDataError, match=r"brand\.yaml") as error:
        load_shop(root)
    assert expected in str(error.value)


def test_a_valid_brand_yaml_is_hashed_with_the_shop(tmp_path: Path) -> None:
    root = write_shop(tmp_path / "shop", brand__yaml="tone: warm\nlegal_footer: Terms apply.\n")
    shop = load_shop(root)
    assert shop.data_hashes["brand.yaml"] == hashlib.sha256((root / "brand.yaml").read_bytes()).hexdigest()


def test_missing_required_column_names_file_column_and_columns_found(tmp_path: Path) -> None:
    root = write_shop(tmp_path / "shop", reviews__csv="review_id,text,stars\n1,Nice,5\n")
    with pytest.raises(ShopDataError) as error:
        load_shop(root)
    message = str(error.value)
    assert "reviews.csv" in message and "['rating']" in message and "stars" in message


def test_malformed_rows_are_skipped_counted_and_located_by_physical_line(tmp_path: Path) -> None:
    reviews = (
        "review_id,text,rating,age\n"  # line 1
        '1,"A review that spans\ntwo lines",5,30\n'  # lines 2-3
        "2,Rating too high,7,30\n"  # line 4
        "3,Rating not a number,abc,30\n"  # line 5
        ",No id,4,30\n"  # line 6
        "4,Half a star,4.5,30\n"  # line 7
        "5,Fine but odd age,4,two hundred\n"  # line 8: kept, age blanked
        "6,Fine,3.0,\n"  # line 9: 3.0 is a whole number
    )
    root = write_shop(tmp_path / "shop", reviews__csv=reviews)
    shop, report = load_shop_with_report(root)
    file_report = report.files["reviews.csv"]

    assert shop.reviews["review_id"].tolist() == ["1", "5", "6"]
    assert (file_report.rows_read, file_report.rows_loaded, file_report.rows_skipped) == (7, 3, 4)
    assert file_report.skipped_lines() == [4, 5, 6, 7]
    blanked = [(i.line, i.column) for i in file_report.issues if i.action == "blanked"]
    assert blanked == [(8, "age")]
    assert shop.reviews["age"].isna().tolist() == [False, True, True]
    assert report.degraded
    assert "skipped (lines 4, 5, 6, 7)" in report.summary()


def test_duplicate_review_ids_keep_the_first_and_report_where_it_was(tmp_path: Path) -> None:
    reviews = "review_id,text,rating\nA,first,5\nB,other,4\nA,second,1\nA,third,2\n"
    shop, report = load_shop_with_report(write_shop(tmp_path / "shop", reviews__csv=reviews))
    assert shop.reviews.set_index("review_id").loc["A", "text"] == "first"
    issues = report.files["reviews.csv"].issues
    assert [(i.line, i.reason) for i in issues] == [
        (4, "duplicate review_id (first on line 2)"),
        (5, "duplicate review_id (first on line 2)"),
    ]


def test_a_file_where_every_row_is_bad_is_refused(tmp_path: Path) -> None:
    root = write_shop(tmp_path / "shop", reviews__csv="review_id,text,rating\n1,x,0\n2,y,9\n")
    reasons = r"no valid review rows .*2 x rating is not a whole number 1-5 \(e.g. line 2, 3\)"
    with pytest.raises(ShopDataError, match=reasons):
        load_shop(root)


def test_unknown_spend_channel_is_refused_with_a_suggestion(tmp_path: Path) -> None:
    channels = "period,spend_fb,spend_email,spend_radio_x,revenue\n2024-01-01,1,2,3,4\n"
    root = write_shop(tmp_path / "shop", channel_history__csv=channels)
    with pytest.raises(ShopDataError) as error:
        load_shop(root)
    message = str(error.value)
    assert "channel_history.csv" in message and "'fb' (did you mean 'facebook'?)" in message
    assert "'radio_x'" in message and "email" not in message.split("known channels")[0]


def test_a_shop_catalog_can_add_a_channel_for_its_spend_column(tmp_path: Path) -> None:
    catalog = """\
channels:
  radio:
    name: Radio
    kind: paid
    copy: {headline_max: 40, body_max: 200}
    unit_cost: {per: cpm, amount: 9}
    prior: {beta: 9000, half_saturation: 8000, slope: 1.3, decay: 0.3, prior_cv: 0.8}
"""
    channels = "period,spend_radio,revenue\n2024-01-01,500,9000\n2024-01-08,0,8000\n"
    root = write_shop(tmp_path / "shop", channel_history__csv=channels, channels__yaml=catalog)
    shop = load_shop(root)
    assert shop.history_channels == ["radio"] and "channels.yaml" in shop.data_hashes


@pytest.mark.parametrize(
    ("channels", "expected"),
    [
        ("period,spend_email,revenue\n2024-01-01,1,2\nsoon,1,2\n", "'period': not an ISO date .* lines 3"),
        ("period,spend_email,revenue\n2024-01-01,1,2\n2024-01-01,1,2\n", "repeated period .* lines 3"),
        ("period,spend_email,revenue\n2024-01-01,-5,2\n", "'spend_email': negative .* lines 2"),
        ("period,spend_email,revenue\n2024-01-01,,2\n", "'spend_email': empty or not a number"),
        ("period,spend_email\n2024-01-01,1\n", r"missing required column\(s\) \['revenue'\]"),
        ("period,email,revenue\n2024-01-01,1,2\n", "no spend_<channel> column"),
    ],
)
def test_bad_channel_history_is_refused_naming_column_and_line(
    tmp_path: Path, channels: str, expected: str
) -> None:
    root = write_shop(tmp_path / "shop", channel_history__csv=channels)
    with pytest.raises(ShopDataError, match=expected):
        load_shop(root)


@pytest.mark.parametrize(
    ("campaigns", "shop_yaml", "expected"),
    [
        (CAMPAIGNS.replace("Holdout", "Control"), SHOP_YAML, "control label 'Holdout'"),
        (CAMPAIGNS.replace("Texts", "Push"), SHOP_YAML, r"treatment\(s\) \['Push'\] have no channel"),
        (
            CAMPAIGNS.replace("Texts", "Holdout").replace("Newsletter", "Holdout"),
            SHOP_YAML,
            "only the control",
        ),
        (CAMPAIGNS, SHOP_YAML.replace("Texts: sms", "Texts: txt"), "not in the catalog: 'txt'"),
        (CAMPAIGNS, SHOP_YAML.replace("[age]", "[age, tenure]"), r"feature column\(s\) \['tenure'\]"),
        (CAMPAIGNS, "name: Test Shop\ncurrency: EUR\n", "no 'campaign_history' section"),
        (CAMPAIGNS, "name: Test Shop\ncurrency: euro\n", "currency"),
    ],
)
def test_bad_campaign_history_is_refused_with_the_reason(
    tmp_path: Path, campaigns: str, shop_yaml: str, expected: str
) -> None:
    root = write_shop(tmp_path / "shop", campaign_history__csv=campaigns, shop__yaml=shop_yaml)
    with pytest.raises(ShopDataError, match=expected):
        load_shop(root)


def test_malformed_campaign_rows_are_skipped_and_counted(tmp_path: Path) -> None:
    campaigns = CAMPAIGNS + "c5,Texts,2,0,0,30\nc6,Texts,1,1,-3,30\nc2,Texts,0,0,0,30\nc7,,0,0,0,30\n"
    shop, report = load_shop_with_report(write_shop(tmp_path / "shop", campaign_history__csv=campaigns))
    file_report = report.files["campaign_history.csv"]
    assert len(shop.campaign_history) == 4
    assert file_report.skipped_lines() == [6, 7, 8, 9]
    assert set(file_report.reasons()) == {
        "visit is not 0 or 1",
        "revenue is not a number >= 0",
        "duplicate customer_id (first on line 3)",
        "empty treatment",
    }


@pytest.mark.parametrize(
    ("reviews", "expected"),
    [
        ("review_id,text,rating\n1,a,5,extra\n2,b,4,extra\n", "more fields than the header"),
        ("review_id,text,rating\n1,a,5\n2,b,4,extra\n", "malformed CSV"),
        ("review_id,text,review_id\n1,a,5\n", "repeated in the header"),
        ("", "empty"),
    ],
)
def test_malformed_csv_is_refused_not_misread(tmp_path: Path, reviews: str, expected: str) -> None:
    with pytest.raises(ShopDataError, match=expected):
        load_shop(write_shop(tmp_path / "shop", reviews__csv=reviews))


def test_missing_shop_folder_and_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(ShopDataError, match="shop folder not found"):
        load_shop(tmp_path / "nowhere")
    root = write_shop(tmp_path / "shop", shop__yaml=None)
    (root / "shop.yaml").unlink(missing_ok=True)
    with pytest.raises(ShopDataError, match=r"shop\.yaml: not found"):
        load_shop(root)


# --- column maps -----------------------------------------------------------------------------------


def test_custom_yaml_map_imports_an_export_with_recodes_constants_and_row_ids(tmp_path: Path) -> None:
    export = tmp_path / "export"
    export.mkdir()
    (export / "reviews.csv").write_text(
        "ID,Comment,Stars\nx1,Great coat,5\nx2,Meh,six\nx3,Too small,2\n", encoding="utf-8"
    )
    (export / "campaign.csv").write_text(
        "Arm,Clicked,Bought,Amount,Age\nHoldout,no,no,0,31\nMail A,yes,yes,80,45\nMail A,yes,no,0,38\n",
        encoding="utf-8",
    )
    map_file = tmp_path / "my_export.yaml"
    map_file.write_text(
        """\
reviews:
  columns: {ID: review_id, Comment: text, Stars: rating}
  constants: {department: Jackets}
campaign_history:
  columns: {Arm: treatment, Clicked: visit, Bought: conversion, Amount: revenue, Age: age}
  row_number_as: customer_id
  recode:
    visit: {"yes": 1, "no": 0}
    conversion: {"yes": 1, "no": 0}
  control: Holdout
  treatment_channels: {Mail A: email}
""",
        encoding="utf-8",
    )
    assert load_column_map(map_file).name == "my_export"
    shop, report = import_shop(
        tmp_path / "shop",
        reviews=export / "reviews.csv",
        campaigns=export / "campaign.csv",
        column_map=map_file,
        name="Coats",
        currency="GBP",
    )
    assert shop.reviews["review_id"].tolist() == ["x1", "x3"]
    assert shop.reviews["department"].eq("Jackets").all()
    reviews_report = report.files["reviews.csv"]
    assert (reviews_report.rows_read, reviews_report.rows_written, reviews_report.column_map) == (
        3,
        2,
        "my_export",
    )
    assert [(i.line, i.column, i.value) for i in reviews_report.issues] == [(3, "rating", "six")]
    assert shop.campaign_history["customer_id"].tolist() == ["0", "1", "2"]
    assert shop.campaign_history["visit"].tolist() == [0, 1, 1]
    # One converter is far too few to estimate an average order value from (tests/test_order_value.py).
    assert shop.campaign_spec == CampaignHistorySpec(
        control="Holdout", treatment_channels={"Mail A": "email"}, features=["age"]
    )
    assert report.average_order_value is None
    assert any("average_order_value left unset: only 1 converter in" in w for w in report.warnings)
    assert (shop.name, shop.currency) == ("Coats", "GBP")
    assert "2 written" in report.summary()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("reviews:\n  columns: {A: review_id, B: text, C: stars}\n", "'stars'] are not review columns"),
        ("reviews:\n  columns: {A: review_id, B: text}\n", r"required canonical column\(s\) \['rating'\]"),
        ("reviews:\n  columns: {A: review_id, B: text, C: rating, D: text}\n", "produced twice"),
        ("reviews:\n  columns: {A: review_id}\n  colums: {}\n", "colums"),
        ("channel_history:\n  columns: {W: period, R: revenue}\n", "spend_<channel_id>"),
        ("name: x\n", "at least one of"),
        ("reviews: [1, 2\n", "not valid YAML"),
    ],
)
def test_invalid_column_maps_are_refused_naming_the_problem(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ColumnMapError, match=expected):
        load_column_map(path)


def test_an_export_no_map_fits_is_refused_naming_expected_and_found_columns(tmp_path: Path) -> None:
    export = tmp_path / "weird.csv"
    export.write_text("foo,bar\n1,2\n", encoding="utf-8")
    with pytest.raises(ShopDataError) as error:
        import_shop(tmp_path / "shop", reviews=export)
    message = str(error.value)
    assert "['review_id', 'text', 'rating']" in message and "clothing_reviews" in message
    assert "['foo', 'bar']" in message


def test_unknown_map_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ColumnMapError, match="neither a built-in map"):
        import_shop(tmp_path / "shop", reviews=tmp_path / "r.csv", column_map="no_such_map")


def test_builtin_maps_are_detected_by_header() -> None:
    assert (
        detect_column_map(
            "reviews",
            [
                "",
                "Clothing ID",
                "Age",
                "Title",
                "Review Text",
                "Rating",
                "Recommended IND",
                "Department Name",
                "Class Name",
            ],
        ).name
        == "clothing_reviews"
    )
    assert detect_column_map("reviews", ["review_id", "text", "rating"]).name == "canonical"
    assert sorted(BUILTIN_MAPS) == ["clothing_reviews", "hillstrom", "pymc_mmm", "robyn"]


# --- writing safely --------------------------------------------------------------------------------


def test_import_never_overwrites_without_the_flag_and_a_failed_import_keeps_the_old_shop(
    tmp_path: Path,
) -> None:
    export = tmp_path / "reviews.csv.gz"
    export.write_bytes(gzip.compress(REVIEWS.encode("utf-8")))  # canonical columns, gzipped
    dest = tmp_path / "shop"
    import_shop(dest, reviews=export, name="First")
    before = {p.name: p.read_bytes() for p in dest.iterdir()}

    with pytest.raises(ShopDataError, match="overwrite=True"):
        import_shop(dest, reviews=export, name="Second")
    # A replacement that fails validation (campaign history without a control label) changes nothing.
    bad = tmp_path / "campaigns.csv"
    bad.write_text(CAMPAIGNS, encoding="utf-8")
    with pytest.raises(ShopDataError, match="control label"):
        import_shop(dest, reviews=export, campaigns=bad, name="Third", overwrite=True)
    assert {p.name: p.read_bytes() for p in dest.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no staging left behind

    shop, _ = import_shop(dest, reviews=export, name="Fourth", overwrite=True)
    assert load_shop(dest).name == "Fourth" == shop.name and shop.root == dest


# --- the public datasets ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def public_shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    reviews = dataset("womens_clothing_ecommerce_reviews.csv.gz")
    campaigns = dataset("hillstrom_email_analytics_2008.csv")
    channels = dataset("pymc_marketing_mmm_example.csv")
    dest = tmp_path_factory.mktemp("public") / "shop"
    _, report = import_shop(dest, reviews=reviews, campaigns=campaigns, channels=channels, name="Public")
    return dest, report


def test_real_clothing_reviews_import_with_index_values_as_review_ids(
    public_shop: tuple[Path, object], tmp_path: Path
) -> None:
    dest, report = public_shop
    reviews_only = tmp_path / "reviews-only"
    reviews_only.mkdir()
    (reviews_only / "reviews.csv").write_bytes((dest / "reviews.csv").read_bytes())
    (reviews_only / "shop.yaml").write_text("name: Clothing\ncurrency: USD\n", encoding="utf-8")
    started = time.perf_counter()
    shop, load_report = load_shop_with_report(reviews_only)
    seconds = time.perf_counter() - started
    source = pd.read_csv(dataset("womens_clothing_ecommerce_reviews.csv.gz"), index_col=0)

    assert len(shop.reviews) == 23_486 == len(source)
    assert shop.reviews["review_id"].tolist() == [str(i) for i in source.index]
    assert (
        report.files["reviews.csv"].column_map == "clothing_reviews" and report.files["reviews.csv"].detected
    )
    assert report.empty_text_reviews == 845 == len(load_report.empty_text_review_ids)
    assert round(shop.reviews["recommended"].mean(), 4) == 0.8224  # as SOURCES.md records
    assert round(shop.reviews["rating"].mean(), 3) == 4.196
    assert shop.reviews["department"].value_counts()["Tops"] == 10_468
    assert "Positive Feedback Count" in report.files["reviews.csv"].dropped_columns
    assert seconds < 2.0, f"loading the 23k clothing reviews took {seconds:.2f} s"


def test_hillstrom_import_reproduces_the_published_rates(public_shop: tuple[Path, object]) -> None:
    dest, _ = public_shop
    shop = load_shop(dest)
    history = shop.campaign_history
    assert len(history) == 64_000 and history["customer_id"].is_unique
    rates = history.groupby("treatment")[["visit", "conversion", "revenue"]].mean().round(5)
    assert rates.loc["Mens E-Mail"].tolist() == [0.18276, 0.01253, 1.42262]
    assert rates.loc["No E-Mail"].tolist() == [0.10617, 0.00573, 0.65279]
    assert round(history[["visit", "conversion", "revenue"]].mean().iloc[0], 5) == 0.14678
    assert shop.campaign_spec.control == "No E-Mail"
    assert set(shop.campaign_spec.treatment_channels.values()) == {"email"}
    assert "purchase_channel" in shop.campaign_spec.features and "channel" not in history.columns
    assert "Surburban" not in set(history["zip_code"])


def test_pymc_example_imports_as_weekly_channel_history(public_shop: tuple[Path, object]) -> None:
    dest, _ = public_shop
    history = load_shop(dest).channel_history
    assert len(history) == 179 and list(history.columns) == [
        "period",
        "spend_display",
        "spend_search",
        "revenue",
        "control_event_1",
        "control_event_2",
    ]
    # The example's two events survive as controls of the response-curve fit.
    assert history["control_event_1"].sum() == 1 and history["control_event_2"].sum() == 1
    assert round(history["revenue"].mean(), 3) == 5284.948
    assert history["period"].iloc[0] == pd.Timestamp("2018-04-02")


def test_robyn_imports_its_five_paid_media(tmp_path: Path) -> None:
    robyn = dataset("robyn_dt_simulated_weekly.csv")
    reviews = tmp_path / "reviews.csv"
    reviews.write_text(REVIEWS, encoding="utf-8")
    shop, report = import_shop(tmp_path / "shop", reviews=reviews, channels=robyn, column_map="robyn")
    assert report.files["channel_history.csv"].detected is False
    assert shop.history_channels == ["tv", "ooh", "print", "facebook", "search"]
    assert len(shop.channel_history) == 208
    assert round(shop.channel_history["revenue"].sum()) == 379_005_697
    assert "newsletter" in report.files["channel_history.csv"].dropped_columns
