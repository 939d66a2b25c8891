"""Imported by the reading children's fork server (``prepare.preload_modules``), never
by anything else: what every reading child needs before it reads, loaded once in the
server so each child forked from it starts with it.

The shipped reference data (``load_reference``: bundling edits and indicators, read
from package data) cost each child ~6–11 ms before its first claim, on the critical
path of a large file's ingest (the child's reading sets its wall time)."""

from app.contracts.reference import load_reference

load_reference()
