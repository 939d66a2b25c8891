"""The values the bulk writer hands the driver: JSON texts of short code lists come
from a per-process cache and must read exactly as ``json.dumps`` writes them."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db import models
from app.reconciliation import prepare, repository

SCALARS = st.one_of(
    st.text(max_size=6), st.integers(), st.booleans(), st.none(), st.floats(allow_nan=False)
)


@pytest.mark.parametrize(
    "value",
    [
        [],
        ["25"],
        ["25", "59"],
        [1],
        [True],
        [1.0],
        ["1"],
        [{"a": 1}],
        {"x": []},
        None,
        ["é"],
        ['a"b\\'],
        [str(n) for n in range(12)],
        ("25", "59"),  # the domain objects' tuples
        (),
        (1,),
        (True,),
        ("1",),
        ({"a": 1},),
    ],
)
def test_json_text_is_json_dumps(value: Any) -> None:
    assert repository._dump_json(value) == json.dumps(value)
    assert repository._dump_json(value) == json.dumps(value)  # from the cache


@given(
    st.lists(
        st.one_of(st.lists(SCALARS, max_size=9), st.lists(SCALARS, max_size=9).map(tuple)),
        max_size=20,
    )
)
def test_json_text_is_json_dumps_whatever_came_before(values: list[Any]) -> None:
    for value in values:
        assert repository._dump_json(value) == json.dumps(value)


@pytest.mark.parametrize("start", [0, 41, (1 << 48) - 2, (1 << 48) + 7, (1 << 64) - 3])
def test_text_ids_are_the_uuids_text_in_the_same_sequence(start: int) -> None:
    file_id = uuid.UUID("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0")
    as_text, as_uuid = prepare.FileIds(file_id, start), prepare.FileIds(file_id, start)
    texts = [as_text.text() for _ in range(2)]
    assert texts == [str(as_uuid()) for _ in range(2)]
    assert texts[0].startswith("0f1e2d3c-4b5a-6978-")
    assert uuid.UUID(texts[1]).int == (file_id.int >> 64 << 64) + start + 2


def test_text_and_uuid_ids_share_one_counter() -> None:
    file_id = uuid.uuid4()
    mixed, plain = prepare.FileIds(file_id, 1 << 62), prepare.FileIds(file_id, 1 << 62)
    got = [mixed.text(), str(mixed()), mixed.text(), mixed.text(), str(mixed())]
    assert got == [str(plain()) for _ in range(5)]


def _file_row(file_id: uuid.UUID) -> dict[str, Any]:
    return {
        "id": file_id,
        "content_hash": file_id.hex * 2,
        "filename": "x.835",
        "size_bytes": 1,
        "raw_bytes": b"x",
        "received_at": models.utcnow(),
        "status": "processed",
        "claims_count": 0,
        "duplicates_count": 0,
        "lines_count": 0,
        "warnings": [],
        "validation_status": "pending",
        "validation_findings": [],
        "validated_at": None,
        "uploaded_by_key_id": None,
        "practice_keys": [],
    }


def test_the_bulk_writer_writes_in_order_and_raises_a_failed_write(session: Session) -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    writer = repository.BulkWriter(session)
    try:
        writer.insert(models.EraFile, [_file_row(first)])
        writer.insert(models.EraFile, [_file_row(second)])
        writer.wait()
        stored = set(session.execute(select(models.EraFile.id)).scalars())
        assert {first, second} <= stored

        def write_again() -> None:
            with session.begin_nested():
                writer.insert(models.EraFile, [_file_row(uuid.uuid4())])
                writer.insert(models.EraFile, [_file_row(first)])  # the same id again
                writer.wait()

        with pytest.raises(IntegrityError):
            write_again()
    finally:
        writer.close()
    assert len(set(session.execute(select(models.EraFile.id)).scalars()) - stored) == 0


@pytest.mark.parametrize("count", [1, 3, repository.SMALL_INSERT_ROWS + 1])
def test_few_rows_and_many_rows_store_the_same_values(session: Session, count: int) -> None:
    # up to SMALL_INSERT_ROWS rows PostgreSQL gets one INSERT, past it a COPY
    ids = [uuid.uuid4() for _ in range(count)]
    rows = [
        {
            **_file_row(file_id),
            "filename": None if n % 2 else 'é "q" \\ \t',
            "raw_bytes": bytes(range(256)),
            "warnings": [{"message": 'a "b" \\ é', "segment_number": 3, "loop": None}],
            "validated_at": models.utcnow(),
            "practice_keys": ["1326048597"],
        }
        for n, file_id in enumerate(ids)
    ]
    repository.insert_rows(session, models.EraFile, rows)
    stored = {
        f.id: f for f in session.scalars(select(models.EraFile).where(models.EraFile.id.in_(ids)))
    }
    assert set(stored) == set(ids)
    for row in rows:
        file = stored[row["id"]]
        for name, value in row.items():
            assert getattr(file, name) == value, name


def test_a_large_files_bytes_go_into_its_row_a_piece_at_a_time(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    # every byte value, in pieces of an odd size, so a piece ends mid-pattern; the
    # file's other columns with what COPY text must escape
    monkeypatch.setattr(repository, "STREAM_BYTES", 1000)
    monkeypatch.setattr(repository, "_STREAM_PIECE", 777)
    streamed: list[int] = []
    send = repository._send_copy_with_blob

    def spy(driver: Any, dialect: Any, statement: str, head: bytes, blob: bytes) -> None:
        streamed.append(len(blob))
        send(driver, dialect, statement, head, blob)

    monkeypatch.setattr(repository, "_send_copy_with_blob", spy)
    raw = bytes(range(256)) * 20 + b"\\x00\t\n"
    small, large = uuid.uuid4(), uuid.uuid4()
    rows = {
        small: {**_file_row(small), "raw_bytes": raw[:999]},
        large: {
            **_file_row(large),
            "filename": 'é "q" \\ \t.835',
            "raw_bytes": raw,
            "size_bytes": len(raw),
            "warnings": [{"message": 'a "b" \\ é\t', "segment_number": 3, "loop": None}],
            "validated_at": models.utcnow(),
            "practice_keys": ["1326048597"],
        },
    }
    writer = repository.BulkWriter(session)
    try:
        for row in rows.values():
            writer.insert_file(models.EraFile, row, blob="raw_bytes")
        writer.wait()
        # a failed streamed write raises as any other write of the writer

        def write_again() -> None:
            with session.begin_nested():
                writer.insert_file(models.EraFile, rows[large], blob="raw_bytes")
                writer.wait()

        with pytest.raises(IntegrityError):
            write_again()
    finally:
        writer.close()
    postgres = session.connection().dialect.name == "postgresql"
    # only PostgreSQL streams (its writes are COPYs), and only from STREAM_BYTES on
    assert streamed == ([len(raw), len(raw)] if postgres else [])
    session.expire_all()
    stored = {
        f.id: f for f in session.scalars(select(models.EraFile).where(models.EraFile.id.in_(rows)))
    }
    assert set(stored) == set(rows)
    for file_id, row in rows.items():
        for name, value in row.items():
            assert getattr(stored[file_id], name) == value, name
