"""The row readers of the upload tools: streamed JSON arrays, row numbers, CSV text, Parquet values, bad files."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from mcp.server.mcpserver.exceptions import ToolError

from arize_skills.mcp_server.files import RowProblems, iter_records, open_table, record_batches


def test_a_json_array_larger_than_the_read_buffer_is_streamed_element_by_element(tmp_path: Path) -> None:
    # ~2.4 MB: elements and numbers straddle the 1 MiB read slices.
    rows = [{"i": i, "text": "x" * (i % 700), "n": 12345.678 + i} for i in range(6000)]
    path = tmp_path / "big.json"
    path.write_text(json.dumps(rows, indent=1))

    records = list(iter_records(open_table(str(path), None)))

    assert [r.row for r in records] == list(range(1, 6001))
    assert [r.values for r in records] == rows
    assert all(r.problem is None for r in records)


def test_json_elements_that_are_not_objects_are_row_problems_and_broken_json_is_an_error(tmp_path: Path) -> None:
    mixed = tmp_path / "mixed.json"
    mixed.write_text('[{"a": 1}, 7, "s", {"a": 2}]')
    records = list(iter_records(open_table(str(mixed), None)))
    assert [(r.row, r.problem is None) for r in records] == [(1, True), (2, False), (3, False), (4, True)]

    for text, expected in [
        ('[{"a": 1}, {"a": 2}', "ends inside the JSON array"),
        ('[{"a": 1} {"a": 2}]', "expected ',' or ']'"),
        ('[{"a": 1}] extra', "more text after the JSON array"),
        ("", "must start with '['"),
    ]:
        broken = tmp_path / "broken.json"
        broken.write_text(text)
        with pytest.raises(ToolError, match=re.escape(expected)):
            list(iter_records(open_table(str(broken), None)))


def test_jsonl_rows_are_line_numbers_and_csv_cells_stay_text(tmp_path: Path) -> None:
    jsonl = tmp_path / "rows.jsonl"
    jsonl.write_text('{"a": 1}\n\n{"a": 2}\n')
    assert [(r.row, r.values) for r in iter_records(open_table(str(jsonl), None))] == [(1, {"a": 1}), (3, {"a": 2})]

    csv_path = tmp_path / "rows.csv"
    csv_path.write_text('id_code,score,note\n007,4,"multi\nline"\n\n008,,\n1,2,3,4\n', encoding="utf-8")
    records = list(iter_records(open_table(str(csv_path), None)))
    assert [(r.row, r.values) for r in records[:2]] == [
        (1, {"id_code": "007", "score": "4", "note": "multi\nline"}),
        (2, {"id_code": "008"}),
    ]
    assert records[2].row == 3 and "4 values but the header has 3 columns" in (records[2].problem or "")


def test_parquet_values_become_plain_json(tmp_path: Path) -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    table = pa.table(
        {
            "at": pa.array([moment, None], type=pa.timestamp("us", tz="UTC")),
            "price": pa.array([Decimal("1.50"), Decimal("2.25")], type=pa.decimal128(5, 2)),
            "x": pa.array([float("nan"), 1.0]),
            "tags": pa.array([["a"], []]),
        }
    )
    path = tmp_path / "data.pq"
    pq.write_table(table, path)

    records = list(iter_records(open_table(str(path), None)))

    assert records[0].values == {"at": "2026-01-02T03:04:05+00:00", "price": 1.5, "tags": ["a"]}
    assert records[1].values == {"price": 2.25, "x": 1.0, "tags": []}


async def test_batches_of_a_non_utf8_file_fail_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("name\ncaf\xe9\n".encode("latin-1"))
    with pytest.raises(ToolError, match="not UTF-8 text"):
        async for _ in record_batches(open_table(str(path), None), 10):
            pass


def test_row_problems_group_rows_into_ranges_and_quote_examples() -> None:
    problems = RowProblems()
    for row in (3, 4, 5, 9):
        problems.add(row, "example_id", "is not an example", value=f"e{row % 2}")
    problems.add(None, "eval.x.scor", "is not an evaluation column")
    problems.add(2, None, "is empty")

    report = problems.report("nothing was written:")

    assert problems.bad_rows == 5
    assert "- rows 3-5, 9 (4 rows), column 'example_id': is not an example (got 'e1', 'e0')" in report
    assert "- column 'eval.x.scor': is not an evaluation column" in report
    assert "- row 2: is empty" in report


@pytest.mark.parametrize(
    ("text", "row", "line"),
    [
        ('example_id,output\ne1,fine\ne2,"never closed\ne3,swallowed\ne4,too\n', 2, 3),
        ('example_id,output\ne1,"closed"late\ne2,x\n', 1, 2),
        ('example_id,output\ne1,ok\n\ne2,"opens\ne3,"and then"\ne4,z\n', 2, 4),
    ],
)
def test_a_broken_csv_quote_is_an_error_naming_its_row_and_line_never_a_swallowed_row(
    tmp_path: Path, text: str, row: int, line: int
) -> None:
    path = tmp_path / "runs.csv"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(ToolError) as raised:
        list(iter_records(open_table(str(path), None)))

    message = str(raised.value)
    assert f"row {row} (line {line})" in message and "quote" in message


def test_a_csv_row_with_fewer_values_than_the_header_is_a_row_problem(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_text("a,b,c\n1,2,3\n4,5\n", encoding="utf-8")

    records = list(iter_records(open_table(str(path), None)))

    assert records[0].problem is None
    assert records[1].row == 2 and "2 values but the header has 3 columns" in (records[1].problem or "")


def test_a_json_array_that_breaks_inside_an_element_names_the_element_and_its_line(tmp_path: Path) -> None:
    path = tmp_path / "rows.json"
    path.write_text('[\n  {"a": 1},\n  {"a": 2},\n  {"a": }\n]\n', encoding="utf-8")

    with pytest.raises(ToolError, match=r"element 3 \(line 4\)"):
        list(iter_records(open_table(str(path), None)))


def test_a_parquet_file_unreadable_past_its_first_rows_is_an_error_naming_where_it_broke(tmp_path: Path) -> None:
    path = tmp_path / "runs.parquet"
    table = pa.table({"output": [f"value {i:05d}" * 20 for i in range(4000)]})
    pq.write_table(table, path, row_group_size=1000, compression="NONE", use_dictionary=False)
    data = bytearray(path.read_bytes())
    reader = pq.ParquetFile(str(path))
    column = reader.metadata.row_group(2).column(0)
    start = column.data_page_offset
    data[start : start + 64] = b"\xff" * 64
    path.write_bytes(bytes(data))

    with pytest.raises(ToolError, match=r"after row 2,000"):
        list(iter_records(open_table(str(path), None)))


def test_a_file_whose_suffix_says_nothing_is_read_by_what_its_first_bytes_look_like(tmp_path: Path) -> None:
    jsonl = tmp_path / "runs.txt"
    jsonl.write_text('{"a": 1}\n{"a": 2}\n', encoding="utf-8")
    array = tmp_path / "runs.out"
    array.write_text('\ufeff  [{"a": 1}]', encoding="utf-8")
    parquet = tmp_path / "runs"
    pq.write_table(pa.table({"a": [1]}), parquet)
    text = tmp_path / "runs.data"
    text.write_text("a\n1\n", encoding="utf-8")

    assert [open_table(str(p), None).format for p in (jsonl, array, parquet, text)] == [
        "jsonl",
        "json",
        "parquet",
        "csv",
    ]
    assert [r.values for r in iter_records(open_table(str(jsonl), None))] == [{"a": 1}, {"a": 2}]
