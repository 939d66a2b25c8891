"""Alembic migrations of era-recon (shipped with the package so installed copies can
run ``era-recon db upgrade``)."""
