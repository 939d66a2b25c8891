"""SQL of the ingest and variance side: bulk writes of a file's rows, the look-ups of
duplicates and reversals one batch at a time, and the read queries of the faces.

Writes go through ``session.execute(insert(Model), rows)`` with client-side ids, so a
batch of claims is a handful of statements whatever its size (STYLE.md: SQL lives in
repository modules; nothing here commits).
"""

from __future__ import annotations

import binascii
import json
import uuid
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache, partial
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import (
    ARRAY,
    JSON,
    ColumnElement,
    Date,
    Dialect,
    Integer,
    Numeric,
    Table,
    Uuid,
    and_,
    any_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    literal,
    literal_column,
    null,
    or_,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.db.models import (
    ClaimPayment,
    DisputePacketItem,
    EraFile,
    PricingResult,
    ProviderAdjustment,
    Remittance,
    ResultEvent,
    ServiceLine,
)
from app.db.types import Money, Quantity, plain_decimal, to_cents
from app.x12 import schemas as x12

# the number of values bound in one IN (...) list: well under SQLite's and
# PostgreSQL's limits, and one statement per chunk keeps the count bounded
IN_CHUNK = 900

# up to this many rows, PostgreSQL is sent one INSERT … VALUES (…), (…) instead of
# a COPY (and BulkWriter pipelines them): a one-claim upload writes 1-10 rows per
# table, and for so few a COPY's extra protocol exchange and the writer thread cost
# more than they save (50 rows of the widest table stay far below the 65,535
# parameters of one statement)
SMALL_INSERT_ROWS = 50

# psycopg's own formatter of a row in COPY's text format (what ``copy.write_row``
# runs), to format a large batch's rows where they are built (the reading child
# process) rather than on the writer's side. ``psycopg._copy_base`` is private, so
# without it, or without psycopg's C implementation (the pure-Python formatter is
# several times slower than the driver's own ``write_row``), rows cross as values.
try:
    from psycopg import Error as _DriverError
    from psycopg import pq as _pq
    from psycopg._copy_base import format_row_text as _format_row_text
    from psycopg.adapt import Transformer as _Transformer
except ImportError:  # pragma: no cover - psycopg moved it: rows cross as values
    COPY_TEXT_READY = False
else:
    COPY_TEXT_READY = _pq.__impl__ in ("c", "binary")

# statuses of results in a filed packet: frozen against reversal and re-pricing
FILED_STATUSES = ("disputed", "recovered", "upheld", "written_off")


def _chunks(values: Sequence[Any], size: int = IN_CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


# ----------------------------------------------------------------------- bulk write


def insert_rows(session: Session, model: type[Any], rows: list[dict[str, Any]]) -> None:
    """Insert rows that all have the same keys (every column without a default), in
    the session's transaction: ``COPY … FROM STDIN`` on PostgreSQL (an INSERT for
    ``SMALL_INSERT_ROWS`` rows or fewer), one DBAPI ``executemany`` on SQLite, a Core
    INSERT elsewhere. A UUID column takes a ``uuid.UUID`` or its ``str``.

    The ingest writes ~4 rows per service line; SQLAlchemy's executemany spends more
    time per row (parameter dicts, type processors one value at a time) than parsing
    and pricing the line together. Here each value is converted once, by the same
    rules the column types apply (``Money`` rounds half-up to cents, JSON is dumped),
    and handed to the driver in one call."""
    if not rows:
        return
    write = _bulk_write(session, model, rows)
    if write is not None:
        write()


def _bulk_write(
    session: Session, model: type[Any], rows: list[dict[str, Any]]
) -> Callable[[], None] | None:
    """``insert_rows`` in two steps: what needs the session happens now (a Core
    INSERT is executed here: None is returned); the driver's work (converting values,
    COPY or executemany) is returned, to run now or on ``BulkWriter``'s thread."""
    table = cast(Table, model.__table__)
    connection = session.connection()
    dialect = connection.dialect
    writer = _writer(table, dialect, tuple(rows[0]), copy=len(rows) > SMALL_INSERT_ROWS)
    if writer is None:
        # a Core INSERT: one executemany per batch (the ORM's bulk path drops None keys
        # and would split rows with different None columns apart)
        session.execute(insert(table), rows)
        return None
    driver = connection.connection.driver_connection
    return partial(_driver_write, driver, dialect, writer, rows)


def _driver_write(
    driver: Any,
    dialect: Dialect,
    writer: tuple[str, _Converters],
    rows: list[dict[str, Any]],
    cursor: Any = None,
) -> None:
    _send(driver, dialect, writer[0], _convert(writer[1], _tuples(rows)), cursor)


def _tuples(rows: list[dict[str, Any]]) -> list[Sequence[Any]]:
    """Each row's values in the order of the first row's keys."""
    names = tuple(rows[0])
    if len(names) == 1:
        return [(row[names[0]],) for row in rows]
    return list(map(itemgetter(*names), rows))


def _convert(converters: _Converters, tuples: list[Sequence[Any]]) -> list[Sequence[Any]]:
    """Rows' values converted as the column types would: column by column (``zip``
    turns rows into columns and back in C), so only the converted columns cost a
    Python call per value."""
    if not converters:
        return tuples
    columns: list[Sequence[Any]] = list(zip(*tuples, strict=True))
    for index, convert, nullable in converters:
        if nullable:
            columns[index] = [None if item is None else convert(item) for item in columns[index]]
        else:
            columns[index] = list(map(convert, columns[index]))
    return list(zip(*columns, strict=True))


def _send(
    driver: Any,
    dialect: Dialect,
    statement: str,
    values: list[Sequence[Any]],
    cursor: Any = None,
) -> None:
    try:
        if statement.startswith("COPY"):
            with driver.cursor() as own, own.copy(statement) as copy:
                for value in values:
                    copy.write_row(value)
        elif dialect.name == "postgresql":
            # one INSERT of every row (a handful): one statement; on the cursor of
            # BulkWriter's pipeline when given, where it waits for no answer
            query = _values_query(statement, len(values[0]), len(values))
            params = [item for value in values for item in value]
            if cursor is not None:
                cursor.execute(query, params)
            else:
                with _raw_cursor(driver) as own:
                    own.execute(query, params)
        else:
            driver.executemany(statement, values)
    except dialect.loaded_dbapi.Error as exc:
        # the same exception classes as through the ORM (ingest retries IntegrityError)
        raise DBAPIError.instance(
            statement, None, exc, dialect.loaded_dbapi.Error, dialect=dialect
        ) from exc


def _send_copy_text(driver: Any, dialect: Dialect, statement: str, text: bytes) -> None:
    """A COPY of rows already in its text format (``PreparedRows.copy_text``): the
    bytes as they are (psycopg sends them in pieces of 128 KB)."""
    try:
        with driver.cursor() as own, own.copy(statement) as copy:
            copy.write(text)
    except dialect.loaded_dbapi.Error as exc:
        # the same exception classes as ``_send`` (ingest retries IntegrityError)
        raise DBAPIError.instance(
            statement, None, exc, dialect.loaded_dbapi.Error, dialect=dialect
        ) from exc


# a stored file's bytes from this size on go into its row's COPY in pieces
# (``BulkWriter.insert_file``), hex-encoded a piece at a time: sent as a parameter,
# 45 MB of ``bytea`` cost psycopg ~86 MB more than the bytes themselves
STREAM_BYTES = 1 << 20
_STREAM_PIECE = 1 << 20


def _send_copy_with_blob(
    driver: Any, dialect: Dialect, statement: str, head: bytes, blob: bytes
) -> None:
    """A COPY of one row whose last column is ``bytea``: ``head`` (the row's other
    values in COPY text, without its newline), then ``blob`` in bytea's hex form
    (``\\x…``: the backslash escaped for COPY) a piece at a time, so no copy of
    the whole value is made here."""
    view = memoryview(blob)
    try:
        with driver.cursor() as own, own.copy(statement) as copy:
            copy.write(head + b"\t\\\\x")
            for start in range(0, len(view), _STREAM_PIECE):
                copy.write(binascii.hexlify(view[start : start + _STREAM_PIECE]))
            copy.write(b"\n")
    except dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance(
            statement, None, exc, dialect.loaded_dbapi.Error, dialect=dialect
        ) from exc
    finally:
        view.release()


@lru_cache(maxsize=512)
def _values_query(statement: str, width: int, count: int) -> str:
    """``statement`` (``INSERT … VALUES ``) with ``count`` groups of ``width``
    PostgreSQL placeholders ($1, $2, …), for a raw cursor: psycopg would otherwise
    convert %s placeholders on every call (it caches the conversion only for short
    statements, and a few rows of the wide tables are longer)."""
    groups = (
        "(" + ", ".join(f"${row * width + column + 1}" for column in range(width)) + ")"
        for row in range(count)
    )
    return statement + ", ".join(groups)


def _raw_cursor(driver: Any) -> Any:
    """A psycopg cursor whose queries take $n placeholders as they are."""
    from psycopg import RawCursor

    return RawCursor(driver)


@dataclass(slots=True)
class PreparedRows:
    """Rows of one table made ready for the driver away from the database (another
    process may do it), in one of three forms:

    - ``copy_text``: on PostgreSQL, more than ``SMALL_INSERT_ROWS`` rows (a COPY):
      the rows in COPY's text format, as psycopg's ``write_row`` would send them,
      and ``ends``, where each row's text ends (so whole rows can be taken apart);
    - ``values``: fewer rows, or no C formatter: tuples in the order of ``names``,
      converted as the column types would (``prepare_rows``);
    - ``rows``: dicts, when no fast insert exists for the dialect."""

    table: str
    names: tuple[str, ...]
    values: list[Sequence[Any]] | None = None
    rows: list[dict[str, Any]] | None = None
    copy_text: bytes | None = None
    ends: list[int] | None = None

    def __len__(self) -> int:
        if self.ends is not None:
            return len(self.ends)
        return len(self.values if self.values is not None else self.rows or [])

    def take(self, ranges: list[tuple[int, int]]) -> PreparedRows:
        """The rows in ``ranges`` (start, end), in order."""
        if self.copy_text is not None:
            assert self.ends is not None
            text, ends = self.copy_text, self.ends
            parts: list[bytes] = []
            kept: list[int] = []
            size = 0
            for a, b in ranges:
                if a >= b:
                    continue
                first = ends[a - 1] if a else 0
                parts.append(text[first : ends[b - 1]])
                shift = size - first
                kept.extend([end + shift for end in ends[a:b]])
                size = kept[-1]
            return PreparedRows(self.table, self.names, copy_text=b"".join(parts), ends=kept)
        if self.values is not None:
            return PreparedRows(
                self.table, self.names, values=[v for a, b in ranges for v in self.values[a:b]]
            )
        assert self.rows is not None
        return PreparedRows(
            self.table, self.names, rows=[r for a, b in ranges for r in self.rows[a:b]]
        )

    def extend(self, more: PreparedRows) -> None:
        if not len(more):
            return
        if not len(self):
            self.names, self.values, self.rows = more.names, more.values, more.rows
            self.copy_text = more.copy_text
            self.ends = None if more.ends is None else list(more.ends)
            return
        if self.names != more.names:  # pragma: no cover - rows are built alike
            raise ValueError("rows prepared with different columns")
        if self.copy_text is not None or more.copy_text is not None:
            # batches of one file, some large, some small (a transaction's last):
            # the small ones' values in COPY text too (the same bytes, see
            # ``copy_text_of``), so the whole is one COPY
            if self.values is not None:
                self.copy_text, self.ends = _copy_text_of_values(self.values)
                self.values = None
            if more.values is not None:
                text, ends = _copy_text_of_values(more.values)
                more = PreparedRows(more.table, more.names, copy_text=text, ends=ends)
            if self.copy_text is None or more.copy_text is None:  # pragma: no cover
                raise ValueError("rows prepared for different dialects")
            assert self.ends is not None
            assert more.ends is not None
            size = len(self.copy_text)
            self.copy_text += more.copy_text
            self.ends = self.ends + [end + size for end in more.ends]
        elif self.values is not None and more.values is not None:
            self.values.extend(more.values)
        elif self.rows is not None and more.rows is not None:
            self.rows.extend(more.rows)
        else:  # pragma: no cover - one dialect per ingest
            raise ValueError("rows prepared for different dialects")


def copy_text_of(values: Iterable[Sequence[Any]]) -> tuple[bytes, list[int]]:
    """Rows in COPY's text format, by psycopg's formatter (``COPY_TEXT_READY``), and
    where each ends. A value is written as ``write_row`` writes it; str is encoded
    as UTF-8 (there is no connection to ask), which the COPY then declares
    (``copy_text_statement``). A Decimal's or a date's text is its ``str``, so values
    already converted by ``_convert`` give the same bytes as the raw ones."""
    transformer = _Transformer()
    out = bytearray()
    ends: list[int] = []
    end = ends.append
    for row in values:
        _format_row_text(row, transformer, out)
        end(len(out))
    return bytes(out), ends


def _copy_text_of_values(values: list[Sequence[Any]]) -> tuple[bytes, list[int]]:
    """``copy_text_of`` rows the writer's side holds as values; a value the driver
    refuses raises what their COPY would have (``_send``: a ``DBAPIError``)."""
    try:
        return copy_text_of(values)
    except _DriverError as exc:
        raise DBAPIError.instance("COPY", None, exc, _DriverError) from exc


def copy_text_statement(statement: str) -> str:
    """The COPY of ``copy_text``: its bytes are UTF-8 whatever the connection's
    client encoding (the same conversion then as ``write_row`` under UTF8)."""
    return statement + " (ENCODING 'UTF8')"


def dialect_named(name: str) -> Dialect:
    """A dialect instance from its ``name+driver`` (for converting values where no
    engine exists, e.g. in a child process)."""
    dialect: Dialect = make_url(f"{name}://").get_dialect()()
    return dialect


def dialect_key(dialect: Dialect) -> str:
    return f"{dialect.name}+{dialect.driver}"


def prepare_rows(
    model: type[Any],
    dialect: Dialect,
    names: tuple[str, ...],
    rows: list[tuple[Any, ...]],
    *,
    ready: bool = False,
    tail: tuple[Any, ...] = (),
) -> PreparedRows:
    """``insert_rows``' conversion step alone (no database needed), of rows given as
    tuples of the values of ``names``.

    ``ready``: the JSON and date columns hold their texts already, from
    ``column_texts(dialect)`` (only for a ``fast_insert``), so they are not converted
    again. ``tail``: the values of the last ``len(tail)`` columns, the same in every
    row and left out of ``rows`` (a batch's links and lifecycle): in COPY text
    formatted once and copied after each row's own values."""
    table = cast(Table, model.__table__)
    writer = _writer(table, dialect, names) if rows else None
    if writer is None:
        if ready and rows:  # pragma: no cover - the callers check fast_insert first
            raise ValueError("texts for a table without a fast insert")
        return PreparedRows(
            table.name, names, rows=[dict(zip(names, row + tail, strict=True)) for row in rows]
        )
    statement, converters = writer
    if ready:
        converters = _texts_left(table, names, converters)
    if COPY_TEXT_READY and len(rows) > SMALL_INSERT_ROWS and statement.startswith("COPY"):
        # rows for a COPY: formatted here, once, into the bytes the COPY sends; the
        # writer's side then only sends them. Only JSON is dumped first: psycopg
        # writes a Decimal or a date as its str, what the other converters give.
        dumped = [item for item in converters if item[1] is not str]
        try:
            if tail:
                text, ends = _copy_text_with_tail(dumped, rows, tail)
            else:
                text, ends = copy_text_of(_convert(dumped, list(rows)) if dumped else rows)
        except (_DriverError, UnicodeEncodeError):
            # a value the driver refuses (a NUL or a lone surrogate in a text): as
            # values, its COPY fails as it always did
            pass
        else:
            return PreparedRows(table.name, names, copy_text=text, ends=ends)
    if tail:
        rows = [row + tail for row in rows]
    return PreparedRows(table.name, names, values=_convert(converters, list(rows)))


def _copy_text_with_tail(
    dumped: _Converters, rows: list[tuple[Any, ...]], tail: tuple[Any, ...]
) -> tuple[bytes, list[int]]:
    """``copy_text_of`` the rows with ``tail`` after each: the tail's text is cut
    from the first whole row's (after its own values' tabs: a tab inside a value is
    escaped), then follows each row's own text in place of its newline."""
    width = len(rows[0])
    first, _ = copy_text_of(_convert(dumped, [rows[0] + tail]))
    fields = first[:-1].split(b"\t")
    after = b"\t" + b"\t".join(fields[width:]) + b"\n"
    own = [item for item in dumped if item[0] < width]
    transformer = _Transformer()
    out = bytearray()
    ends: list[int] = []
    end = ends.append
    for row in _convert(own, list(rows)) if own else rows:
        _format_row_text(row, transformer, out)
        out[-1:] = after
        end(len(out))
    return bytes(out), ends


class BulkWriter:
    """``insert_rows`` of one unit of work, on PostgreSQL handed to one thread in
    order, so the server's work on a batch (COPY, index and foreign-key upkeep)
    overlaps reading and pricing the next one in Python (psycopg lets go of the GIL
    while it waits on the server). Elsewhere the rows are written at once.

    Few rows (``SMALL_INSERT_ROWS`` per table or fewer: a small upload) skip the
    thread: their INSERTs are held and sent together in one psycopg pipeline at the
    next ``wait()``, one round trip for a batch's tables instead of one each.

    The session's connection is the thread's while anything is queued, and held rows
    are not written yet: call ``wait()`` before any other statement of the session
    (it re-raises the first error of the writes, as ``insert_rows`` would have), and
    ``close()`` before the unit of work ends (its rollback or commit), whatever
    happened."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._queue: list[Future[None]] = []
        self._held: list[Callable[..., None]] = []
        self._executor: ThreadPoolExecutor | None = None
        self._threaded = session.connection().dialect.name == "postgresql"

    def insert(self, model: type[Any], rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        if not self._threaded:
            insert_rows(self._session, model, rows)
            return
        table = cast(Table, model.__table__)
        dialect = self._session.connection().dialect
        if (
            len(rows) <= SMALL_INSERT_ROWS
            and not self._queue
            and _writer(table, dialect, tuple(rows[0]), copy=False) is not None
        ):
            # a few rows: held for the pipeline (behind queued writes they queue too,
            # to keep the order of the foreign keys)
            write = _bulk_write(self._session, model, rows)
            if write is not None:
                self._held.append(write)
            return
        self._send_held()
        write = _bulk_write(self._session, model, rows)
        if write is not None:
            self._enqueue(write)

    def insert_file(self, model: type[Any], row: dict[str, Any], *, blob: str) -> None:
        """``insert(model, [row])``; on PostgreSQL a row whose ``blob`` column (bytes)
        holds ``STREAM_BYTES`` or more goes by COPY on the thread, those bytes sent a
        piece at a time (``_send_copy_with_blob``) rather than as one parameter."""
        data = row[blob]
        if not (self._threaded and COPY_TEXT_READY) or len(data) < STREAM_BYTES:
            self.insert(model, [row])
            return
        table = cast(Table, model.__table__)
        connection = self._session.connection()
        dialect = connection.dialect
        names = tuple(name for name in row if name != blob) + (blob,)
        writer = _writer(table, dialect, names)
        if writer is None:  # pragma: no cover - a column with a default left out
            self.insert(model, [row])
            return
        statement, converters = writer
        width = len(names) - 1
        values: list[Sequence[Any]] = [tuple(row[name] for name in names[:width])]
        try:
            text, _ = copy_text_of(_convert([c for c in converters if c[0] < width], values))
        except (_DriverError, UnicodeEncodeError):
            # a value the driver refuses (a NUL in a text): as an INSERT, which fails
            # as it always did
            self.insert(model, [row])
            return
        driver = connection.connection.driver_connection
        self._send_held()
        self._enqueue(
            partial(
                _send_copy_with_blob,
                driver,
                dialect,
                copy_text_statement(statement),
                text[:-1],
                data,
            )
        )

    def insert_prepared(self, model: type[Any], prepared: PreparedRows) -> None:
        """Insert rows made ready by ``prepare_rows`` (with the same dialect), as
        ``insert`` would: a few held for the pipeline, many by COPY on the thread."""
        if not len(prepared):
            return
        table = cast(Table, model.__table__)
        connection = self._session.connection()
        dialect = connection.dialect
        driver = connection.connection.driver_connection
        if prepared.copy_text is not None:
            # a COPY on the thread, however few rows are left once repeats were
            # taken out (its text is ready; only a COPY takes it)
            writer = _writer(table, dialect, prepared.names)
            assert writer is not None  # prepared for PostgreSQL: the COPY exists
            assert self._threaded
            statement = copy_text_statement(writer[0])
            self._send_held()
            self._enqueue(partial(_send_copy_text, driver, dialect, statement, prepared.copy_text))
            return
        if prepared.values is None:
            assert prepared.rows is not None
            self.insert(model, prepared.rows)
            return
        values = prepared.values
        small = self._threaded and len(values) <= SMALL_INSERT_ROWS and not self._queue
        writer = _writer(table, dialect, prepared.names, copy=not small)
        assert writer is not None  # prepared for this dialect: the writer exists
        write = partial(_send, driver, dialect, writer[0], values)
        if not self._threaded:
            write()
            return
        if small:
            self._held.append(write)
            return
        self._send_held()
        self._enqueue(write)

    def _enqueue(self, write: Callable[[], None]) -> None:
        """A write for the thread (started with the first), after those queued."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="era-recon-copy")
        self._queue.append(self._executor.submit(write))

    def _send_held(self) -> None:
        """The held INSERTs, in order, in one pipeline: one round trip."""
        held, self._held = self._held, []
        if not held:
            return
        connection = self._session.connection()
        driver: Any = connection.connection.driver_connection
        dialect = connection.dialect
        try:
            # the pipeline ends (its one sync, where any error is raised) before the
            # cursor closes
            with _raw_cursor(driver) as cursor, driver.pipeline():
                for write in held:
                    write(cursor=cursor)
        except dialect.loaded_dbapi.Error as exc:
            raise DBAPIError.instance(
                "INSERT (pipeline)", None, exc, dialect.loaded_dbapi.Error, dialect=dialect
            ) from exc

    def wait(self) -> None:
        if self._held:
            self._send_held()
            return  # rows are held only while nothing is queued
        queued, self._queue = self._queue, []
        error: BaseException | None = None
        for future in queued:
            try:
                future.result()
            except BaseException as exc:  # the first is re-raised below
                error = error or exc
        if error is not None:
            raise error

    def close(self) -> None:
        """Wait for every queued write without raising (the caller is already
        unwinding, or has waited), and end the thread. Rows still held are dropped:
        the unit of work is being undone."""
        self._held = []
        for future in self._queue:
            try:
                future.result()
            except BaseException:  # the unit of work is undone anyway
                pass
        self._queue = []
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None


_Converter = Callable[[Any], Any] | None
# (index of the value in the row, its converter, whether None skips the converter)
_Converters = list[tuple[int, Callable[[Any], Any], bool]]
_WRITERS: dict[tuple[str, str, tuple[str, ...], bool], tuple[str, _Converters] | None] = {}


def _writer(
    table: Table, dialect: Dialect, names: tuple[str, ...], *, copy: bool = True
) -> tuple[str, _Converters] | None:
    """The statement and per-column value converters of a fast insert of ``names``
    into ``table`` (cached): on PostgreSQL a COPY, or with ``copy=False`` an INSERT
    for executemany; None when the Core INSERT must do it (another database, or a
    column left out that has a default to apply)."""
    copy = copy and dialect.name == "postgresql"
    key = (table.name, dialect.name, names, copy)
    if key in _WRITERS:
        return _WRITERS[key]
    writer: tuple[str, _Converters] | None = None
    columns = table.columns
    complete = all(c.name in names for c in columns if c.default is not None)
    if dialect.name in ("postgresql", "sqlite") and complete and set(names) <= set(columns.keys()):
        quote = dialect.identifier_preparer.quote
        column_list = ", ".join(quote(name) for name in names)
        if copy:
            statement = f"COPY {quote(table.name)} ({column_list}) FROM STDIN"
        elif dialect.name == "postgresql":
            # the rows' VALUES groups are added by _driver_write
            statement = f"INSERT INTO {quote(table.name)} ({column_list}) VALUES "
        else:
            marks = ", ".join("?" for _ in names)
            statement = f"INSERT INTO {quote(table.name)} ({column_list}) VALUES ({marks})"
        converters: _Converters = []
        for index, name in enumerate(names):
            kind = columns[name].type
            convert = _converter(kind, dialect)
            if convert is not None:
                # JSON turns None into 'null' as the JSON type does; the rest keep NULL
                converters.append((index, convert, not isinstance(kind, JSON)))
        writer = (statement, converters)
    _WRITERS[key] = writer
    return writer


def _converter(kind: Any, dialect: Dialect) -> _Converter:
    """What the column type does to a value before the driver sees it."""
    if isinstance(kind, JSON):
        return _dump_json
    if dialect.name == "postgresql":
        # COPY's text format: numbers and dates as their text, which also pickles
        # several times faster than Decimal and date objects (rows prepared in a child
        # process cross a pipe); a NUMERIC(…, 2) column rounds to cents half away from
        # zero, as ``Money`` (ROUND_HALF_UP) would. psycopg adapts the rest itself.
        if isinstance(kind, Money | Quantity | Numeric | Date):
            return str  # str(date) is its ISO form
        return None
    if isinstance(kind, Uuid):
        return _uuid_hex  # as the type stores it (CHAR(32)), from a UUID or its text
    processor: _Converter = kind._cached_bind_processor(dialect)
    return processor


def _uuid_hex(value: uuid.UUID | str) -> str:
    return value.hex if isinstance(value, uuid.UUID) else value.replace("-", "")


# JSON text of short lists of codes (modifiers, remark codes, CARC/RARC): most are
# empty or repeat, so each is dumped once per process (bounded). Only tuples of str
# are stored: 1 == True == 1.0 would share a key but not a text, and a key equal to
# a tuple of str holds only str, so a look-up first is safe for any value.
_JSON_TEXT: dict[tuple[str, ...], str] = {}
_JSON_TEXT_MAX = 4096


def _dump_json(value: Any) -> str:
    """A JSON column's text; lists and tuples of codes from a cache."""
    kind = type(value)
    if kind is tuple or kind is list:
        if not value:
            return "[]"
        key = value if kind is tuple else tuple(value)
        try:
            text = _JSON_TEXT.get(key)
        except TypeError:  # an unhashable item (a dict, a list)
            return json.dumps(value)
        if text is not None:
            return text
        if len(key) <= 8 and all(type(item) is str for item in key):
            if len(_JSON_TEXT) >= _JSON_TEXT_MAX:
                _JSON_TEXT.clear()
            text = _JSON_TEXT[key] = json.dumps(key)
            return text
    return json.dumps(value)


def fast_insert(model: type[Any], dialect: Dialect, names: tuple[str, ...]) -> bool:
    """Whether ``prepare_rows`` converts rows of ``names`` for a fast insert (COPY or
    the driver's executemany), so they may hold ``column_texts``."""
    return _writer(cast(Table, model.__table__), dialect, names) is not None


def _texts_left(table: Table, names: tuple[str, ...], converters: _Converters) -> _Converters:
    """The converters of the columns other than JSON and DATE ones, which hold their
    texts (``prepare_rows``' ``ready``)."""
    columns = table.columns
    return [
        item for item in converters if not isinstance(columns[names[item[0]]].type, JSON | Date)
    ]


class _Texts(dict[Any, Any]):
    """A column's text of each value, worked out on a miss (``__missing__``) and kept
    for the values ``keep`` accepts (bounded): a row builder's look-up is then one
    dict subscript in C."""

    def __init__(
        self, convert: Callable[[Any], Any], keep: Callable[[Any], bool], fixed: dict[Any, Any]
    ) -> None:
        super().__init__(fixed)
        self._convert = convert
        self._keep = keep
        self._fixed = fixed

    def __missing__(self, value: Any) -> Any:
        text = self._convert(value)
        if self._keep(value):
            if len(self) >= _JSON_TEXT_MAX:
                self.clear()
                self.update(self._fixed)
            self[value] = text
        return text


class _Same(dict[Any, Any]):
    """Every value as it is (a dialect without a fast insert converts nothing here)."""

    def __missing__(self, value: Any) -> Any:
        return value


@dataclass(frozen=True, slots=True)
class ColumnTexts:
    """Look-ups from a value to what a fast insert of ``dialect`` sends for it, for
    rows built ready (``prepare_rows(ready=True)``): ``json[codes]`` of a tuple of
    codes (or None) is a JSON column's text, ``date[day]`` of a date (or None) a DATE
    column's. ``ready`` False: both give the values unchanged (no fast insert)."""

    json: dict[Any, Any]
    date: dict[Any, Any]
    ready: bool


UNCHANGED_TEXTS = ColumnTexts(_Same(), _Same(), ready=False)
_COLUMN_TEXTS: dict[str, ColumnTexts] = {}


def column_texts(dialect: Dialect) -> ColumnTexts:
    """The look-ups of ``dialect`` (one per process: each text is worked out once)."""
    found = _COLUMN_TEXTS.get(dialect.name)
    if found is not None:
        return found
    if dialect.name not in ("postgresql", "sqlite"):  # see _writer
        texts = UNCHANGED_TEXTS
    else:
        to_date = _converter(Date(), dialect)
        assert to_date is not None
        texts = ColumnTexts(
            # None as the JSON type stores it ('null'; _writer: not skipped)
            _Texts(_dump_json, _json_kept, {None: "null", (): "[]"}),
            # a date's text is the same wherever its converter is run (COPY or not);
            # None stays NULL
            _Texts(to_date, _date_kept, {None: None}),
            ready=True,
        )
    _COLUMN_TEXTS[dialect.name] = texts
    return texts


def _json_kept(value: Any) -> bool:
    """Only tuples of str are kept: 1 == True == 1.0 would share a key but not a
    text, and a key equal to a tuple of str holds only str."""
    return type(value) is tuple and len(value) <= 8 and all(type(item) is str for item in value)


def _date_kept(value: Any) -> bool:
    # only dates: a datetime's DATE text drops its time, so it is worked out each time
    return type(value) is date


def update_rows(session: Session, model: type[Any], rows: list[dict[str, Any]]) -> None:
    """Bulk UPDATE by primary key (each dict holds ``id`` and the new values)."""
    if rows:
        session.execute(update(model), rows)


def update_file(session: Session, file_id: uuid.UUID, values: dict[str, Any]) -> None:
    session.execute(update(EraFile).where(EraFile.id == file_id).values(**values))


def update_remittance(session: Session, remittance_id: uuid.UUID, values: dict[str, Any]) -> None:
    session.execute(update(Remittance).where(Remittance.id == remittance_id).values(**values))


# ----------------------------------------------------------------------- duplicates


# pg_advisory_xact_lock namespace of ingest's locks ("ERA1"), and how many buckets
# the claims are spread over: enough that small uploads of different claims rarely
# meet, few enough that a large file's "every bucket" stays well inside PostgreSQL's
# shared lock table (max_locks_per_transaction × max_connections)
INGEST_LOCK = 0x45524131
INGEST_LOCK_BUCKETS = 64


def lock_bucket(key: str) -> int:
    return zlib.crc32(key.encode()) % INGEST_LOCK_BUCKETS


def _buckets(keys: Iterable[str] | None) -> list[int]:
    """The lock buckets of ``keys`` in ascending order; every bucket for None."""
    if keys is None:
        return list(range(INGEST_LOCK_BUCKETS))
    return sorted({lock_bucket(key) for key in keys})


def lock_for_ingest(session: Session, keys: Iterable[str] | None) -> None:
    """Make ingests that touch the same claims take turns until their transaction
    ends (PostgreSQL). Under READ COMMITTED two files ingested at once do not see each
    other's rows, so a reversal racing its original would link to nothing; a file
    therefore locks the buckets of its claims' keys (payer, payee, CLP01) and its
    traces, or every bucket when ``keys`` is None (a large file, not pre-read). Every
    transaction takes all its locks at once in ascending order, so two ingests never
    deadlock. SQLite needs nothing: its writers already take turns (``BEGIN
    IMMEDIATE``, db/session.py)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    buckets = _buckets(keys)
    if buckets:
        session.execute(
            text(
                "SELECT pg_advisory_xact_lock(:space, bucket) "
                "FROM unnest(CAST(:buckets AS integer[])) AS bucket"
            ),
            {"space": INGEST_LOCK, "buckets": buckets},
        )


def file_by_hash(session: Session, content_hash: str) -> Any | None:
    return session.execute(
        select(EraFile.id, EraFile.practice_keys).where(EraFile.content_hash == content_hash)
    ).first()


@dataclass(slots=True, frozen=True)
class StoredFile:
    """A stored file found by its bytes (``file_by_hash``'s row)."""

    id: uuid.UUID
    practice_keys: list[str]


@dataclass(slots=True, frozen=True)
class IngestStart:
    """What an ingest reads before anything else, once its locks are held."""

    stored: StoredFile | None  # the file already stored with the same bytes
    # the current contract versions' ids (``contracts.index.current_index``'s
    # fingerprint); None where they were not read with the rest
    contract_versions: frozenset[uuid.UUID] | None
    # whether the savepoint ``ingest_attempt`` undoes a failed attempt to was set
    # with the rest (PostgreSQL); otherwise each attempt sets its own
    savepoint: bool = False
    # ``stored_claims`` of the claims asked for with the rest, or None
    claims: StoredClaims | None = None


@dataclass(slots=True, frozen=True)
class StoredClaims:
    """``stored_claims``' answer for these identities and CLP01s, read under the
    ingest's locks: good for the first batch of an attempt that asks the same."""

    identities: list[str]
    claim_ids: list[str]
    found: dict[str, uuid.UUID]
    reversed_ids: set[str]


_START_LOCK = "SELECT pg_advisory_xact_lock($1, bucket) FROM unnest($2::integer[]) AS bucket"
_START_HASH = "SELECT id, practice_keys FROM era_files WHERE content_hash = $1"
_START_VERSIONS = "SELECT id FROM contract_versions WHERE is_current IS true"
# set after the look-ups, in their round trip; never released (the transaction's end
# releases it): an attempt that stores the file costs no round trip for its savepoint
INGEST_SAVEPOINT = "era_recon_ingest"
_START_SAVEPOINT = f"SAVEPOINT {INGEST_SAVEPOINT}"
_UNDO_ATTEMPT = f"ROLLBACK TO SAVEPOINT {INGEST_SAVEPOINT}"


def begin_ingest(
    session: Session,
    keys: Iterable[str] | None,
    content_hash: str,
    claims: tuple[list[str], list[str]] | None = None,
) -> IngestStart:
    """``lock_for_ingest``, then ``file_by_hash`` and, on PostgreSQL, the current
    contract versions (``contracts.repository.current_version_ids``), the savepoint
    of ``ingest_attempt`` and ``stored_claims`` of ``claims`` (identities, CLP01s;
    a small file read before its ingest, one statement's worth): these statements
    sent in one psycopg pipeline, one round trip. Each is its own statement, run in
    order, so under READ COMMITTED the look-ups see what was committed before the
    lock was granted, as when they are sent one by one."""
    dialect = session.get_bind().dialect
    if dialect.name != "postgresql":
        lock_for_ingest(session, keys)
        row = file_by_hash(session, content_hash)
        stored = None if row is None else StoredFile(row.id, list(row.practice_keys))
        return IngestStart(stored, None)
    buckets = _buckets(keys)
    if claims is not None and max(len(claims[0]), len(set(claims[1]))) > IN_CHUNK:
        claims = None  # more than one statement's worth: looked up batch by batch
    session.flush()  # what the session holds is written before the savepoint, not after
    driver: Any = session.connection().connection.driver_connection
    try:
        with (
            _raw_cursor(driver) as locks,
            _raw_cursor(driver) as by_hash,
            _raw_cursor(driver) as versions,
            _raw_cursor(driver) as savepoint,
            _raw_cursor(driver) as claims_stored,
        ):
            # the pipeline ends (its one sync, where any error is raised) before the
            # results are read
            with driver.pipeline():
                if buckets:
                    locks.execute(_START_LOCK, [INGEST_LOCK, buckets])
                by_hash.execute(_START_HASH, [content_hash])
                versions.execute(_START_VERSIONS)
                savepoint.execute(_START_SAVEPOINT)
                if claims is not None:
                    claims_stored.execute(_STORED_CLAIMS, _stored_claims_params(*claims))
            row = by_hash.fetchone()
            ids = frozenset(version_id for (version_id,) in versions.fetchall())
            stored_claims_read = None
            if claims is not None:
                found, reversed_ids = _stored_claims_rows(claims_stored.fetchall())
                stored_claims_read = StoredClaims(claims[0], claims[1], found, reversed_ids)
    except dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance(
            "ingest look-ups (pipeline)", None, exc, dialect.loaded_dbapi.Error, dialect=dialect
        ) from exc
    stored = None
    if row is not None:
        keys_stored = row[1]
        if isinstance(keys_stored, str):  # JSON text, where the driver does not load it
            keys_stored = json.loads(keys_stored)
        stored = StoredFile(row[0], list(keys_stored or []))
    return IngestStart(stored, ids, savepoint=True, claims=stored_claims_read)


@contextmanager
def ingest_attempt(session: Session, start: IngestStart) -> Iterator[None]:
    """One attempt at storing a file: whatever it wrote is undone when it raises
    (a lost race, a file that adds nothing new, a rejection), and the exception goes
    on. On PostgreSQL it rolls back to the savepoint ``begin_ingest`` set, which
    stays for a second attempt and is released with the transaction: the ORM holds
    no object written here (rows go in bulk, as Core statements). Elsewhere it is
    the session's own savepoint (``begin_nested``)."""
    if not start.savepoint:
        with session.begin_nested():
            yield
        return
    try:
        yield
    except BaseException:
        session.connection().exec_driver_sql(_UNDO_ATTEMPT)
        raise


def _among(session: Session, column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
    """``column IN values``; on PostgreSQL as ``column = ANY(array)``: one parameter,
    which the planner hashes or turns into index look-ups. An IN list of separate
    parameters is compared one by one against every row a scan reads — quadratic in
    a large file's own rows, which the planner still thinks few within its
    transaction (a 100,000-claim file spent minutes there)."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(
            ColumnElement[bool],
            column == any_(bindparam(None, list(values), type_=ARRAY(column.type))),
        )
    return cast(ColumnElement[bool], column.in_(values))


# The two lists go as JSON texts, taken apart by the server: psycopg dumps a list
# parameter element by element in Python (~1.9 µs each, ~2 ms a batch of 500 claims
# on the writer's side), json.dumps the same list in C (~0.1 ms).
_STORED_CLAIMS = (
    "SELECT 1 AS kind, identity AS value, file_id FROM claim_payments "
    "WHERE identity = ANY (ARRAY(SELECT json_array_elements_text($1::json)::VARCHAR(64))) "
    "UNION ALL SELECT DISTINCT 2, claim_id, CAST(NULL AS UUID) FROM claim_payments "
    "WHERE claim_id = ANY (ARRAY(SELECT json_array_elements_text($2::json)::VARCHAR(50))) "
    "AND (status_code = '22' OR reversed_by_id IS NOT NULL)"
)


def _stored_claims_params(identities: Sequence[str], claim_ids: Sequence[str]) -> list[str]:
    """``_STORED_CLAIMS``' parameters for claims of one statement's worth."""
    return [json.dumps(list(identities)), json.dumps(sorted(set(claim_ids)))]


def _stored_claims_rows(rows: Iterable[Any]) -> tuple[dict[str, uuid.UUID], set[str]]:
    """``_STORED_CLAIMS``' rows: kind 1 (identity, file id), kind 2 (CLP01, NULL)."""
    found: dict[str, uuid.UUID] = {}
    reversed_ids: set[str] = set()
    for kind, value, file_id in rows:
        if kind == 1:
            found[value] = file_id
        else:
            reversed_ids.add(value)
    return found, reversed_ids


def stored_claims(
    session: Session, identities: Sequence[str], claim_ids: Sequence[str]
) -> tuple[dict[str, uuid.UUID], set[str]]:
    """What a batch of claim payments needs to know of those stored, in one statement
    per chunk: the claim identities already stored → the file that holds each, and the
    CLP01s among ``claim_ids`` with a reversal (CLP02 22) or a reversed payment stored
    — the only ones whose new payments can take part in reversal matching or recovery
    (an indexed look-up on the CLP01 index, instead of reading every related payment
    of every claim of a batch)."""
    found: dict[str, uuid.UUID] = {}
    reversed_ids: set[str] = set()
    unique_ids = sorted(set(claim_ids))
    chunks = max(-(-len(identities) // IN_CHUNK), -(-len(unique_ids) // IN_CHUNK))
    dialect = session.get_bind().dialect
    driver: Any = None
    if dialect.name == "postgresql":
        driver = session.connection().connection.driver_connection
    for index in range(chunks):
        some_identities = identities[index * IN_CHUNK : (index + 1) * IN_CHUNK]
        some_claim_ids = unique_ids[index * IN_CHUNK : (index + 1) * IN_CHUNK]
        if driver is not None:
            # the statement below, as SQLAlchemy compiles it, sent as text: building
            # and compiling it again cost more than the look-up (one per upload)
            try:
                with _raw_cursor(driver) as cursor:
                    rows = cursor.execute(
                        _STORED_CLAIMS, [json.dumps(some_identities), json.dumps(some_claim_ids)]
                    ).fetchall()
            except dialect.loaded_dbapi.Error as exc:
                raise DBAPIError.instance(
                    _STORED_CLAIMS, None, exc, dialect.loaded_dbapi.Error, dialect=dialect
                ) from exc
            some_found, some_reversed = _stored_claims_rows(rows)
            found.update(some_found)
            reversed_ids |= some_reversed
            continue
        # kind 1: (identity, file id); kind 2: (CLP01, NULL)
        query = union_all(
            select(
                literal_column("1", Integer).label("kind"),
                ClaimPayment.identity.label("value"),
                ClaimPayment.file_id,
            ).where(_among(session, ClaimPayment.identity, some_identities)),
            select(
                literal_column("2", Integer),
                ClaimPayment.claim_id,
                null().cast(ClaimPayment.file_id.type),
            )
            .where(
                _among(session, ClaimPayment.claim_id, some_claim_ids),
                or_(
                    ClaimPayment.status_code == "22",
                    ClaimPayment.reversed_by_id.is_not(None),
                ),
            )
            .distinct(),
        )
        for kind, value, file_id in session.execute(query):
            if kind == 1:
                found[value] = file_id
            else:
                reversed_ids.add(value)
    return found, reversed_ids


def remittance_by_trace(
    session: Session, *, payer_id: str | None, trace_number: str | None
) -> uuid.UUID | None:
    """The file of a stored remittance with this payer and TRN02, if any."""
    if trace_number is None:
        return None
    payer_match = (
        Remittance.payer_id.is_(None) if payer_id is None else Remittance.payer_id == payer_id
    )
    return session.execute(
        select(Remittance.file_id)
        .where(payer_match, Remittance.trace_number == trace_number)
        .limit(1)
    ).scalar()


# ------------------------------------------------------------------------ reversals


def related_claims(
    session: Session, *, payer_ids: Sequence[str | None], claim_ids: Sequence[str]
) -> list[Any]:
    """Stored claim payments (this transaction's included) of these payers and CLP01s,
    with what reversal matching and recovery need, plus the stored order (the file's
    receipt time, the remittance's and the claim's positions)."""
    payers = [p for p in payer_ids if p is not None]
    payer_clause: ColumnElement[bool] = ClaimPayment.payer_id.in_(payers)
    if len(payers) < len(set(payer_ids)):
        payer_clause = or_(payer_clause, ClaimPayment.payer_id.is_(None))
    rows: list[Any] = []
    for chunk in _chunks(list(claim_ids)):
        rows.extend(
            session.execute(
                select(
                    ClaimPayment.id,
                    ClaimPayment.payer_id,
                    ClaimPayment.practice_key,
                    ClaimPayment.claim_id,
                    ClaimPayment.payer_claim_number,
                    ClaimPayment.status_code,
                    ClaimPayment.charge_amount,
                    ClaimPayment.paid_amount,
                    ClaimPayment.payment_date,
                    ClaimPayment.reverses_id,
                    ClaimPayment.reversed_by_id,
                    EraFile.received_at,
                    Remittance.position.label("remittance_position"),
                    ClaimPayment.position,
                )
                .join(Remittance, Remittance.id == ClaimPayment.remittance_id)
                .join(EraFile, EraFile.id == ClaimPayment.file_id)
                .where(payer_clause, _among(session, ClaimPayment.claim_id, chunk))
            ).all()
        )
    return rows


def results_of_claims(session: Session, claim_payment_ids: Sequence[uuid.UUID]) -> list[Any]:
    rows: list[Any] = []
    for chunk in _chunks(list(claim_payment_ids)):
        rows.extend(
            session.execute(
                select(
                    PricingResult.id,
                    PricingResult.claim_payment_id,
                    PricingResult.status,
                    PricingResult.category,
                    PricingResult.filed_packet_id,
                    PricingResult.procedure_code,
                    PricingResult.modifiers,
                    PricingResult.service_date,
                    PricingResult.actual_amount,
                    PricingResult.variance_amount,
                )
                .where(PricingResult.claim_payment_id.in_(chunk))
                .order_by(PricingResult.claim_payment_id, PricingResult.id)
            ).all()
        )
    return rows


# -------------------------------------------------------------------------- summary


def file_row(session: Session, file_id: uuid.UUID) -> EraFile | None:
    # bulk UPDATEs bypass the identity map: always read the row afresh
    return session.get(EraFile, file_id, populate_existing=True)


def remittances_of_file(
    session: Session, file_id: uuid.UUID, scope: frozenset[str] | None
) -> list[Remittance]:
    query = select(Remittance).where(Remittance.file_id == file_id).order_by(Remittance.position)
    if scope is not None:
        query = query.where(Remittance.practice_key.in_(scope))
    return list(session.scalars(query))


def underpaid_by_remittance(
    session: Session, file_ids: Sequence[uuid.UUID], remittance_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, dict[str, Decimal]]:
    """Per remittance (of these files), the sum of variances of its disputable results
    by category. The results are found by their file (``ix_pricing_results_file_id``;
    a remittance id has no index of its own), then kept for the remittances asked."""
    totals: dict[uuid.UUID, dict[str, Decimal]] = {}
    files = sorted(set(file_ids))
    if not files:
        return totals
    for chunk in _chunks(list(remittance_ids)):
        rows = session.execute(
            select(
                PricingResult.remittance_id,
                PricingResult.category,
                func.sum(PricingResult.variance_amount),
            )
            .where(
                _among(session, PricingResult.file_id, files),
                PricingResult.remittance_id.in_(chunk),
                PricingResult.disputable.is_(True),
            )
            .group_by(PricingResult.remittance_id, PricingResult.category)
        )
        for remittance_id, category, total in rows:
            amount = Decimal(str(total or 0))
            totals.setdefault(remittance_id, {})[category] = amount
    return totals


# ------------------------------------------------------------------------ file lists


def list_files(
    session: Session,
    *,
    scope: frozenset[str] | None,
    q: str | None,
    after: tuple[Any, uuid.UUID] | None,
    limit: int,
) -> list[EraFile]:
    """Stored files, newest first (keyset on ``received_at``, ``id``)."""
    query = select(EraFile).where(EraFile.status == "processed")
    visible = select(Remittance.id).where(Remittance.file_id == EraFile.id)
    if scope is not None:
        query = query.where(exists(visible.where(Remittance.practice_key.in_(scope))))
    if q:
        pattern = f"%{q.lower()}%"
        claim_match = select(ClaimPayment.id).where(
            ClaimPayment.file_id == EraFile.id,
            or_(
                func.lower(ClaimPayment.claim_id).like(pattern),
                func.lower(ClaimPayment.payer_claim_number).like(pattern),
                func.lower(ClaimPayment.patient_name).like(pattern),
            ),
        )
        if scope is not None:
            claim_match = claim_match.where(ClaimPayment.practice_key.in_(scope))
        trace_match = visible.where(func.lower(Remittance.trace_number).like(pattern))
        if scope is not None:
            trace_match = trace_match.where(Remittance.practice_key.in_(scope))
        query = query.where(or_(exists(claim_match), exists(trace_match)))
    if after is not None:
        received_at, file_id = after
        query = query.where(
            or_(
                EraFile.received_at < received_at,
                and_(EraFile.received_at == received_at, EraFile.id < file_id),
            )
        )
    query = query.order_by(EraFile.received_at.desc(), EraFile.id.desc()).limit(limit)
    return list(session.scalars(query))


def remittance_heads(
    session: Session, file_ids: Sequence[uuid.UUID], scope: frozenset[str] | None
) -> list[Any]:
    query = select(Remittance.id, Remittance.file_id, Remittance.payer_name).where(
        Remittance.file_id.in_(file_ids)
    )
    if scope is not None:
        query = query.where(Remittance.practice_key.in_(scope))
    return list(session.execute(query.order_by(Remittance.position)).all())


# ---------------------------------------------------------------------- file detail


def claims_of_remittances(
    session: Session, remittance_ids: Sequence[uuid.UUID]
) -> list[ClaimPayment]:
    return list(
        session.scalars(
            select(ClaimPayment)
            .where(ClaimPayment.remittance_id.in_(remittance_ids))
            .order_by(ClaimPayment.position)
        )
    )


def lines_of_claims(session: Session, claim_ids: Sequence[uuid.UUID]) -> list[ServiceLine]:
    lines: list[ServiceLine] = []
    for chunk in _chunks(list(claim_ids)):
        lines.extend(
            session.scalars(
                select(ServiceLine)
                .where(ServiceLine.claim_payment_id.in_(chunk))
                .order_by(ServiceLine.position)
            )
        )
    return lines


def adjustments_of_claims(
    claims: Iterable[ClaimPayment], lines: Iterable[ServiceLine]
) -> dict[tuple[uuid.UUID, uuid.UUID | None], list[x12.Adjustment]]:
    """The CAS of stored claim payments and their lines, in file order, read from the
    rows' ``adjustments`` (no query: they come with the rows): a claim's claim-level
    CAS by (its id, None), a line's by (its claim payment's id, its id). Amounts and
    quantities are read as the Money and Quantity columns read them."""
    found: dict[tuple[uuid.UUID, uuid.UUID | None], list[x12.Adjustment]] = {}
    for claim in claims:
        if claim.adjustments:
            found[claim.id, None] = _adjustments(claim.adjustments)
    for line in lines:
        if line.adjustments:
            found[line.claim_payment_id, line.id] = _adjustments(line.adjustments)
    return found


def _adjustments(stored: list[list[Any]]) -> list[x12.Adjustment]:
    out: list[x12.Adjustment] = []
    for group, reason, amount, quantity in stored:
        out.append(
            x12.Adjustment(
                group,
                reason,
                to_cents(Decimal(amount)),
                None if quantity is None else plain_decimal(Decimal(quantity)),
            )
        )
    return out


def results_of_claim_rows(session: Session, claim_ids: Sequence[uuid.UUID]) -> list[PricingResult]:
    results: list[PricingResult] = []
    for chunk in _chunks(list(claim_ids)):
        results.extend(
            session.scalars(
                select(PricingResult)
                .where(PricingResult.claim_payment_id.in_(chunk))
                .order_by(PricingResult.id)
                .execution_options(populate_existing=True)
            )
        )
    return results


def plb_of_remittances(
    session: Session, remittance_ids: Sequence[uuid.UUID]
) -> list[ProviderAdjustment]:
    return list(
        session.scalars(
            select(ProviderAdjustment).where(ProviderAdjustment.remittance_id.in_(remittance_ids))
        )
    )


# ---------------------------------------------------------------------- delete file


def filed_results_of_file(session: Session, file_id: uuid.UUID) -> int:
    in_packet = exists(
        select(DisputePacketItem.id).where(DisputePacketItem.pricing_result_id == PricingResult.id)
    )
    return int(
        session.execute(
            select(func.count(PricingResult.id)).where(
                PricingResult.file_id == file_id,
                or_(
                    PricingResult.filed_packet_id.is_not(None),
                    PricingResult.status.in_(FILED_STATUSES),
                    in_packet,
                ),
            )
        ).scalar_one()
    )


def claims_reversed_by_file(session: Session, file_id: uuid.UUID) -> list[uuid.UUID]:
    """Claim payments of other files that a reversal in this file reversed."""
    reversal = select(ClaimPayment.id).where(ClaimPayment.file_id == file_id)
    return list(
        session.scalars(
            select(ClaimPayment.id).where(
                ClaimPayment.file_id != file_id, ClaimPayment.reversed_by_id.in_(reversal)
            )
        )
    )


def reversals_of_file_claims(session: Session, file_id: uuid.UUID) -> list[uuid.UUID]:
    """Reversals in other files that point at claim payments of this file."""
    original = select(ClaimPayment.id).where(ClaimPayment.file_id == file_id)
    return list(
        session.scalars(
            select(ClaimPayment.id).where(
                ClaimPayment.file_id != file_id, ClaimPayment.reverses_id.in_(original)
            )
        )
    )


def unlink_reversals(session: Session, claim_ids: Sequence[uuid.UUID]) -> None:
    """Forget that these claim payments were reversed (their reversal is going away)."""
    for chunk in _chunks(list(claim_ids)):
        session.execute(
            update(ClaimPayment).where(ClaimPayment.id.in_(chunk)).values(reversed_by_id=None)
        )


def unlink_reversal_targets(session: Session, claim_ids: Sequence[uuid.UUID]) -> None:
    for chunk in _chunks(list(claim_ids)):
        session.execute(
            update(ClaimPayment).where(ClaimPayment.id.in_(chunk)).values(reverses_id=None)
        )


def delete_file(session: Session, file_id: uuid.UUID) -> dict[str, int]:
    """Delete a file and every row it stored, children first (so it does not depend
    on the database's cascade support). Returns counts per table."""
    claim_ids = select(ClaimPayment.id).where(ClaimPayment.file_id == file_id)
    remittance_ids = select(Remittance.id).where(Remittance.file_id == file_id)
    result_ids = select(PricingResult.id).where(PricingResult.file_id == file_id)
    counts: dict[str, int] = {}
    statements: list[tuple[str, Any]] = [
        ("result_events", delete(ResultEvent).where(ResultEvent.pricing_result_id.in_(result_ids))),
        ("pricing_results", delete(PricingResult).where(PricingResult.file_id == file_id)),
        (  # with their CAS, as the claim payments below with theirs (in the rows)
            "service_lines",
            delete(ServiceLine).where(ServiceLine.claim_payment_id.in_(claim_ids)),
        ),
    ]
    for name, statement in statements:
        counts[name] = _rowcount(session.execute(statement))
    # a claim payment may point at another of the same file (reversal links)
    session.execute(
        update(ClaimPayment)
        .where(ClaimPayment.file_id == file_id)
        .values(reverses_id=None, reversed_by_id=None)
    )
    counts["claim_payments"] = _rowcount(
        session.execute(delete(ClaimPayment).where(ClaimPayment.file_id == file_id))
    )
    counts["provider_adjustments"] = _rowcount(
        session.execute(
            delete(ProviderAdjustment).where(ProviderAdjustment.remittance_id.in_(remittance_ids))
        )
    )
    counts["remittances"] = _rowcount(
        session.execute(delete(Remittance).where(Remittance.file_id == file_id))
    )
    counts["era_files"] = _rowcount(session.execute(delete(EraFile).where(EraFile.id == file_id)))
    return counts


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


# ------------------------------------------------------------------------ variances


def variance_query(
    *,
    scope: frozenset[str] | None,
    payer_id: str | None,
    category: str | None,
    status: str | None,
    date_from: date | None,
    date_to: date | None,
    q: str | None,
    include_all: bool,
    as_of: date,
    ids_only: bool = False,
) -> Any:
    """Results with their line, claim and remittance, filtered as ``/v1/variances``
    says. Without ``include_all`` or a ``category``, ``matched`` and ``reversed``
    results are left out. ``ids_only``: the results' ids alone, joined to the other
    tables only when the search needs them."""
    query: Any
    if ids_only:
        query = select(PricingResult.id)
    else:
        query = select(PricingResult, ServiceLine, ClaimPayment, Remittance)
    if q or not ids_only:
        query = (
            query.join(ServiceLine, ServiceLine.id == PricingResult.service_line_id)
            .join(ClaimPayment, ClaimPayment.id == PricingResult.claim_payment_id)
            .join(Remittance, Remittance.id == PricingResult.remittance_id)
        )
    if scope is not None:
        query = query.where(PricingResult.practice_key.in_(scope))
    if payer_id:
        query = query.where(
            or_(PricingResult.payer_id == payer_id, PricingResult.packet_payer_id == payer_id)
        )
    if category:
        query = query.where(PricingResult.category == category)
    elif not include_all:
        query = query.where(PricingResult.category.not_in(("matched", "reversed")))
    if status == "expired":
        query = query.where(
            PricingResult.status == "open",
            PricingResult.disputable.is_(True),
            PricingResult.dispute_deadline < as_of,
        )
    elif status:
        query = query.where(PricingResult.status == status)
    if date_from is not None:
        query = query.where(PricingResult.payment_date >= date_from)
    if date_to is not None:
        query = query.where(PricingResult.payment_date <= date_to)
    if q:
        pattern = f"%{q.lower()}%"
        query = query.where(
            or_(
                func.lower(ClaimPayment.claim_id).like(pattern),
                func.lower(ClaimPayment.payer_claim_number).like(pattern),
                func.lower(ClaimPayment.patient_name).like(pattern),
                func.lower(Remittance.trace_number).like(pattern),
                func.lower(ServiceLine.line_control_number).like(pattern),
            )
        )
    return query


# results without a deadline (no contract) sort after every dated one
NO_DEADLINE = date(9999, 12, 31)


def deadline_key() -> ColumnElement[date]:
    return func.coalesce(PricingResult.dispute_deadline, literal(NO_DEADLINE))


# where a payment-date filter is not read day by day (``paid_days``), one that holds
# fewer results than this is read through the payment-date index and sorted
# (``page_variances_sorted``); past it the walk in deadline order is quicker
# (1,000,000 lines: a year's payments, 500,000 results, sorted in ~140 ms, walked in
# ~130; counting to the bound costs ~40 ms)
SORTED_AT_MOST = 300_000


def few_paid_between(session: Session, *, date_from: date | None, date_to: date | None) -> bool:
    """Whether fewer than ``SORTED_AT_MOST`` results have a payment date in the
    range: counted off ``ix_pricing_results_payment_date``, stopping at the bound."""
    bounded = select(PricingResult.id)
    if date_from is not None:
        bounded = bounded.where(PricingResult.payment_date >= date_from)
    if date_to is not None:
        bounded = bounded.where(PricingResult.payment_date <= date_to)
    count = session.scalar(
        select(func.count()).select_from(bounded.limit(SORTED_AT_MOST).subquery())
    )
    return (count or 0) < SORTED_AT_MOST


# on PostgreSQL a payment-date range of at most this many days (between the first
# and the last stored payment date) is paged day by day (``page_variances_by_day``):
# one short read of ``ix_pricing_results_payment_date`` per day, 0.1–0.2 ms each at
# 1,000,000 lines
MERGED_DAYS_AT_MOST = 1_000


def paid_days(
    session: Session, *, date_from: date | None, date_to: date | None
) -> list[date] | None:
    """The days of a payment-date range that ``page_variances_by_day`` reads, cut to
    the first and last stored payment dates; None where it does not apply (not
    PostgreSQL, or more than ``MERGED_DAYS_AT_MOST`` days)."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    first: date | None
    last: date | None
    first, last = session.execute(
        select(func.min(PricingResult.payment_date), func.max(PricingResult.payment_date))
    ).one()
    if first is None or last is None:
        return []
    start = first if date_from is None else max(date_from, first)
    end = last if date_to is None else min(date_to, last)
    if start > end:
        return []
    count = (end - start).days + 1
    if count > MERGED_DAYS_AT_MOST:
        return None
    return [start + timedelta(days=n) for n in range(count)]


def _after(query: Any, after: tuple[date, uuid.UUID] | None) -> Any:
    """The keyset condition of the results after (deadline, id) in deadline order."""
    if after is None:
        return query
    deadline = PricingResult.dispute_deadline
    at, result_id = after
    if at >= NO_DEADLINE:  # already among the undated results
        return query.where(deadline.is_(None), PricingResult.id > result_id)
    return query.where(
        or_(
            deadline > at,
            and_(deadline == at, PricingResult.id > result_id),
            deadline.is_(None),
        )
    )


def page_variances(
    session: Session,
    query: Any,
    *,
    after: tuple[date, uuid.UUID] | None,
    limit: int,
) -> list[Any]:
    """Keyset page on (deadline, id), earliest deadline first, results without a
    deadline last (``deadline_key``'s order). Written on the bare column, NULLS LAST,
    rather than on ``deadline_key()``: PostgreSQL then reads a page off the index
    ``ix_pricing_results_deadline_order`` (dispute_deadline, id) instead of joining
    and sorting every matching result (1,000,000 stored lines: ~2 ms, not seconds).

    That walk stops as soon as it has a page, so it is quick where matches are
    common among the earliest deadlines; see ``page_variances_sorted`` for where
    they are not."""
    deadline = PricingResult.dispute_deadline
    ordered = _after(query, after).order_by(deadline.asc().nulls_last(), PricingResult.id.asc())
    return list(session.execute(ordered.limit(limit)).all())


def _page_rows(session: Session, page: Any) -> list[Any]:
    """The results of ``page`` (a subquery of their ids), with their line, claim and
    remittance, in deadline order."""
    query = (
        select(PricingResult, ServiceLine, ClaimPayment, Remittance)
        .join(page, page.c.id == PricingResult.id)
        .join(ServiceLine, ServiceLine.id == PricingResult.service_line_id)
        .join(ClaimPayment, ClaimPayment.id == PricingResult.claim_payment_id)
        .join(Remittance, Remittance.id == PricingResult.remittance_id)
        .order_by(deadline_key().asc(), PricingResult.id.asc())
    )
    return list(session.execute(query).all())


def page_variances_sorted(
    session: Session,
    ids: Any,
    *,
    after: tuple[date, uuid.UUID] | None,
    limit: int,
) -> list[Any]:
    """``page_variances`` for filters that hold few results, or results far down the
    deadline order (a payment-date range: its deadlines come months after it, behind
    every earlier payment's): the walk would read most of the index to find them
    (0.3–0.8 s at 1,000,000 lines). ``ids`` (``variance_query(…, ids_only=True)``)
    are read through the filters' own indexes and the page's ids sorted on
    ``deadline_key()`` — narrow rows, a top-N sort — and only those rows are then
    joined and returned. The same order, so the same pages and cursors."""
    page = (
        _after(ids, after)
        .order_by(deadline_key().asc(), PricingResult.id.asc())
        .limit(limit)
        .subquery()
    )
    return _page_rows(session, page)


def page_variances_by_day(
    session: Session,
    ids: Any,
    days: list[date],
    *,
    after: tuple[date, uuid.UUID] | None,
    limit: int,
) -> list[Any]:
    """``page_variances`` for a payment-date range, on PostgreSQL: each day's first
    ``limit`` results in deadline order, read off ``ix_pricing_results_payment_date``
    (payment_date, dispute_deadline, id) where the day is its first column, and the
    page the first ``limit`` of them all. A page of the range's results is among its
    days' own first pages, so the same pages and cursors as the walk, at a cost that
    grows with the days and with the results of each day that the filters leave out,
    not with all the results the days hold (a walk of the deadline order reads past
    every earlier payment's results; sorting reads them all).
    ``ids``: ``variance_query(…, ids_only=True)``."""
    if not days:
        return []
    day = (
        func.unnest(bindparam("paid_days", days, type_=ARRAY(Date)))
        .table_valued("day")
        .render_derived(name="paid_days")
    )
    deadline = PricingResult.dispute_deadline
    per_day = (
        _after(ids.add_columns(deadline).where(PricingResult.payment_date == day.c.day), after)
        .order_by(deadline.asc().nulls_last(), PricingResult.id.asc())
        .limit(limit)
        .lateral("per_day")
    )
    page = (
        select(per_day.c.id)
        .select_from(day)
        .join(per_day, literal(True))
        .order_by(per_day.c.dispute_deadline.asc().nulls_last(), per_day.c.id.asc())
        .limit(limit)
        .subquery("page")
    )
    return _page_rows(session, page)


# -------------------------------------------------------------------------- reprice


def claims_to_reprice(
    session: Session,
    *,
    contract_id: str | None,
    since: date | None,
    after: uuid.UUID | None,
    limit: int,
) -> list[uuid.UUID]:
    """Non-reversal claim payments with results that a contract change may touch:
    priced under ``contract_id`` or without a contract (a new contract may now apply),
    with a line served on or after ``since``."""
    query = select(PricingResult.claim_payment_id).distinct()
    if contract_id is not None:
        query = query.where(
            or_(PricingResult.contract_id == contract_id, PricingResult.category == "no_contract")
        )
    if since is not None:
        query = query.where(PricingResult.service_date >= since)
    if after is not None:
        query = query.where(PricingResult.claim_payment_id > after)
    query = query.order_by(PricingResult.claim_payment_id).limit(limit)
    return list(session.scalars(query))


def claim_rows(session: Session, claim_ids: Sequence[uuid.UUID]) -> list[Any]:
    return list(
        session.execute(
            select(ClaimPayment, Remittance)
            .join(Remittance, Remittance.id == ClaimPayment.remittance_id)
            .where(ClaimPayment.id.in_(claim_ids))
            .execution_options(populate_existing=True)
        ).all()
    )


# ----------------------------------------------------------------------- validation


def pending_validation(session: Session, *, limit: int) -> list[EraFile]:
    """Files waiting for pyx12's full validation, oldest first; on PostgreSQL locked
    with SKIP LOCKED so several workers share the queue."""
    return list(
        session.scalars(
            select(EraFile)
            .where(EraFile.validation_status == "pending", EraFile.status == "processed")
            .order_by(EraFile.received_at, EraFile.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
