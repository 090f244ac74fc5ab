from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

D = pd.Timestamp


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("1/23/23", D("2023-01-23"), id="snipe-M/D/YY"),
        pytest.param("8/24/22", D("2022-08-24"), id="snipe-accessory"),
        pytest.param("10/27/28", D("2028-10-27"), id="eol-2028"),
        pytest.param("11/24/2008", D("2008-11-24"), id="M/D/YYYY"),
        pytest.param("02/26/2016", D("2016-02-26"), id="MM/DD/YYYY"),
        pytest.param("12/27/1981", D("1981-12-27"), id="1981"),
        pytest.param("1/2/29", D("2029-01-02"), id="pivot-29-is-2029"),
        pytest.param("1/2/30", D("1930-01-02"), id="pivot-30-is-1930"),
        pytest.param("1/2/00", D("2000-01-02"), id="pivot-00"),
        pytest.param("2/29/24", D("2024-02-29"), id="leap-day"),
        pytest.param("2024-01-01", D("2024-01-01"), id="iso-date"),
        pytest.param("2022-03-18", D("2022-03-18"), id="snipe-users-iso"),
        pytest.param("2024-01-15T10:30:00Z", D("2024-01-15"), id="iso-datetime-z"),
        pytest.param("2024-01-15T23:30:00-05:00", D("2024-01-15"), id="offset-keeps-wall-date"),
        pytest.param("2024-01-15 10:00:00", D("2024-01-15"), id="sql-datetime"),
        pytest.param("2024/01/15", D("2024-01-15"), id="iso-slashes"),
        pytest.param("20240115", D("2024-01-15"), id="compact"),
        pytest.param("1/23/2023 10:15 PM", D("2023-01-23"), id="us-with-time"),
        pytest.param("15.01.2024", D("2024-01-15"), id="dotted-is-day-first"),
        pytest.param("Jan 15, 2024", D("2024-01-15"), id="month-name"),
        pytest.param("15 January 2024", D("2024-01-15"), id="day-month-name"),
        pytest.param("15-Jan-2024", D("2024-01-15"), id="oracle-style"),
        pytest.param(44927, D("2023-01-01"), id="excel-serial-int"),
        pytest.param(44927.75, D("2023-01-01"), id="excel-serial-with-time"),
        pytest.param("45123", D("2023-07-16"), id="excel-serial-text"),
        pytest.param("45123.0", D("2023-07-16"), id="excel-serial-float-text"),
        pytest.param(dt.date(2024, 2, 3), D("2024-02-03"), id="python-date"),
        pytest.param(dt.datetime(2024, 2, 3, 4, 5), D("2024-02-03"), id="python-datetime"),
        pytest.param(D("2024-05-06 23:08", tz="Europe/Berlin"), D("2024-05-06"), id="aware"),
        pytest.param({"date": "2023-01-23", "formatted": "01/23/2023"}, D("2023-01-23"), id="snipe-object"),
        pytest.param('{"date": "2023-01-24", "formatted": "01/24/2023"}', D("2023-01-24"), id="snipe-json"),
        pytest.param({"date": None, "formatted": None}, None, id="snipe-object-empty"),
        pytest.param("", None, id="empty"),
        pytest.param("-", None, id="dash"),
        pytest.param(None, None, id="none"),
        pytest.param(np.nan, None, id="nan"),
        pytest.param("0000-00-00", None, id="mysql-zero-date"),
        pytest.param("0000-00-00 00:00:00", None, id="mysql-zero-datetime"),
    ],
)
def test_date(one, value, expected):
    assert one("date", value) == (expected, None)


@pytest.mark.parametrize(
    ("value", "mapping", "expected"),
    [
        pytest.param("01/02/2024", {}, D("2024-01-02"), id="us-default"),
        pytest.param("01/02/2024", {"day_first": True}, D("2024-02-01"), id="day-first"),
        pytest.param("23/1/23", {"day_first": True}, D("2023-01-23"), id="day-first-2-digit"),
        pytest.param("2024|03|04", {"format": "%Y|%m|%d"}, D("2024-03-04"), id="strptime"),
        pytest.param("03-04-2024", {"format": "%d-%m-%Y"}, D("2024-04-03"), id="format-first"),
        pytest.param(100, {"format": "excel"}, D("1900-04-09"), id="excel-forced-small"),
        pytest.param("60000", {"format": "excel"}, D("2064-04-08"), id="excel-forced-text"),
    ],
)
def test_date_mapping_options(one, value, mapping, expected):
    assert one("date", value, **mapping) == (expected, None)


@pytest.mark.parametrize(
    ("value", "mapping", "shown"),
    [
        pytest.param("31/31/24", {}, "31/31/24", id="no-month-31"),
        pytest.param("13/45/2024", {}, "13/45/2024", id="bad-day"),
        pytest.param("2/30/24", {}, "2/30/24", id="feb-30"),
        pytest.param("2024-13-01", {}, "2024-13-01", id="iso-month-13"),
        pytest.param("soon", {}, "soon", id="word"),
        pytest.param("12345", {}, "12345", id="implausible-serial"),
        pytest.param(150000, {}, "150000", id="implausible-number"),
        pytest.param({"foo": 1}, {}, '{"foo": 1}', id="other-object"),
    ],
)
def test_date_errors(one, value, mapping, shown):
    out, error = one("date", value, **mapping)
    assert out is None
    assert error == (
        f"cannot read '{shown}' as a date (expected M/D/YY, MM/DD/YYYY, ISO 8601, "
        "an Excel serial or a {date, formatted} object)"
    )


def test_date_error_names_day_first_and_format(one):
    _, error = one("date", "31/31/24", day_first=True, format="%d/%m/%y")
    assert "format %d/%m/%y" in error
    assert "D/M/YY, DD/MM/YYYY" in error


def test_date_dtype_is_midnight_seconds(apply):
    result = apply("date", ["1/23/23 10:15", "2024-01-15T10:30:00Z", None])
    assert result.values.dtype == "datetime64[s]"
    assert (result.values.dropna().dt.normalize() == result.values.dropna()).all()


def test_date_column_of_datetime64(apply):
    series = pd.Series(pd.to_datetime(["2024-01-02 10:00", None]))
    assert apply("date", series).values.tolist()[0] == D("2024-01-02")


U = "UTC"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("2024-01-15T10:30:00Z", D("2024-01-15 10:30", tz=U), id="z"),
        pytest.param("2024-01-15T23:30:00-05:00", D("2024-01-16 04:30", tz=U), id="offset"),
        pytest.param("2024-01-15 10:00:00", D("2024-01-15 10:00", tz=U), id="naive-is-utc"),
        pytest.param("2024-01-15T10:00:00.123456Z", D("2024-01-15 10:00:00.123456", tz=U), id="us"),
        pytest.param("1/23/2023 10:15 PM", D("2023-01-23 22:15", tz=U), id="us-pm"),
        pytest.param("1/23/2023 12:05 AM", D("2023-01-23 00:05", tz=U), id="us-midnight"),
        pytest.param("1/23/23 9:05:30", D("2023-01-23 09:05:30", tz=U), id="24h-seconds"),
        pytest.param("2024-01-15", D("2024-01-15", tz=U), id="date-only"),
        pytest.param(1700000000, D("2023-11-14 22:13:20", tz=U), id="epoch-seconds"),
        pytest.param(1700000000000, D("2023-11-14 22:13:20", tz=U), id="epoch-millis"),
        pytest.param("1700000000", D("2023-11-14 22:13:20", tz=U), id="epoch-text"),
        pytest.param(44927.5, D("2023-01-01 12:00", tz=U), id="excel-serial-noon"),
        pytest.param(dt.datetime(2024, 2, 3, 4, 5), D("2024-02-03 04:05", tz=U), id="naive-obj"),
        pytest.param(
            dt.datetime(2024, 2, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=2))),
            D("2024-02-03 02:05", tz=U),
            id="aware-obj",
        ),
        pytest.param(
            {"datetime": "2023-01-23 10:00:00", "formatted": "2023-01-23 10:00 AM"},
            D("2023-01-23 10:00", tz=U),
            id="snipe-datetime-object",
        ),
        pytest.param(None, None, id="none"),
        pytest.param("0000-00-00 00:00:00", None, id="mysql-zero-datetime"),
    ],
)
def test_timestamp(one, value, expected):
    assert one("timestamp", value) == (expected, None)


def test_timestamp_errors_and_dtype(apply):
    result = apply("timestamp", ["2024-01-15T25:00:00Z", "1/23/2023 13:00 PM", "x", None])
    assert str(result.values.dtype) == "datetime64[us, UTC]"
    assert result.values.isna().all()
    assert result.errors.tolist()[:3] == [
        "cannot read '2024-01-15T25:00:00Z' as a timestamp (expected M/D/YY, MM/DD/YYYY, "
        "ISO 8601, an Excel serial or a {date, formatted} object)",
        "cannot read '1/23/2023 13:00 PM' as a timestamp (expected M/D/YY, MM/DD/YYYY, "
        "ISO 8601, an Excel serial or a {date, formatted} object)",
        "cannot read 'x' as a timestamp (expected M/D/YY, MM/DD/YYYY, "
        "ISO 8601, an Excel serial or a {date, formatted} object)",
    ]
    assert result.errors.tolist()[3] is None


def test_mixed_column_keeps_rows_apart(apply):
    values = ["1/23/23", 44927, dt.date(2024, 2, 3), None, "bad", {"date": "2023-01-23"}]
    result = apply("date", values)
    assert result.values.tolist()[:3] == [D("2023-01-23"), D("2023-01-01"), D("2024-02-03")]
    assert result.values.isna().tolist()[3:] == [True, True, False]
    assert [e is not None for e in result.errors] == [False, False, False, False, True, False]


def test_date_objects_read_without_json_text(apply, monkeypatch):
    """A column of `{date, formatted}` objects is read from the objects' date text: no JSON
    text is written for them, objects without a date are empty, other objects still fail."""
    import transforms.cells as cells

    def no_json(value):
        assert not (isinstance(value, dict) and "formatted" in value), value
        return cells.cell_text(value)

    monkeypatch.setattr(cells, "cell_text", no_json)
    values = [
        {"date": "2023-01-23", "formatted": "x"},
        {"date": None, "formatted": None},
        {"date": "n/a", "formatted": "01/24/2023"},
        {"datetime": "2023-01-25 10:00:00", "formatted": "x"},
        {"date": "soon", "formatted": "x"},
        None,
    ] * 20
    result = apply("date", values)
    assert result.values.tolist()[:4] == [D("2023-01-23"), pd.NaT, D("2023-01-24"), D("2023-01-25")]
    assert [e is not None for e in result.errors[:6]] == [False, False, False, False, True, False]
    assert result.errors.iloc[4].startswith("cannot read 'soon' as a date")
    stamps = apply("timestamp", values[:4])
    assert stamps.values.tolist()[3] == D("2023-01-25 10:00", tz=U)
