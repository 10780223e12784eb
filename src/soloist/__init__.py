"""Soloist: a self-hosted customer-success platform for one-person companies."""

__version__ = "0.1.0"
