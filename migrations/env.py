"""Alembic environment: runs on SQLite (batch mode) and PostgreSQL alike."""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool
from sqlalchemy.types import TypeDecorator

from app.db import models  # registers every table on the metadata
from app.db.base import Base

config = context.config
target_metadata = Base.metadata


def render_item(type_, obj, autogen_context):  # type: ignore[no-untyped-def]
    """Render the app's TypeDecorators as plain SQLAlchemy types, so revisions
    never import ``app`` (STYLE.md)."""
    if type_ == "type" and isinstance(obj, TypeDecorator):
        return (
            repr(obj.impl).replace("Numeric(", "sa.Numeric(").replace("DateTime(", "sa.DateTime(")
        )
    return False


def include_name(name, type_, parent_names):  # type: ignore[no-untyped-def]
    """procrastinate (the PostgreSQL task queue) manages its own tables."""
    if type_ == "table":
        return not (name or "").startswith("procrastinate_")
    return True


def include_object(object_, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
    """On PostgreSQL the foreign keys of bulk-written rows are triggers (migration
    a7c3e9f1d2b4), not constraints: not drift."""
    if type_ == "foreign_key_constraint" and name in models.PER_STATEMENT_FOREIGN_KEYS:
        return context.get_context().dialect.name != "postgresql"
    return True


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
        render_item=render_item,
        include_name=include_name,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is not None:
        _run(connectable)
        return
    engine = engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with engine.connect() as connection:
        _run(connection)


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=render_item,
        include_name=include_name,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
