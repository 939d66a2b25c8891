"""The demo: sample contracts and sample ERA files loaded by ``era-recon serve --demo``."""
