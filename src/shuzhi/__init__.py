"""Shuzhi (数治): a government data governance platform."""

__version__ = "0.1.0"
