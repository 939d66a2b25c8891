"""era-recon: find and dispute payer underpayments in 835 remittances.

The package is split by domain (see README "Layout"): ``x12`` reads 835 files,
``contracts`` reads and stores payer contracts, ``repricing`` computes what each
service line should have been paid (pure functions), ``disputes`` assembles and
exports dispute packets, ``reconciliation`` orchestrates ingest, ``db`` holds the
ORM models and sessions, and ``api``, ``web`` and ``cli`` are thin faces.
"""

__version__ = "0.1.0"
