"""The backup scenario's tests import scenario.py (its machines and helpers)."""
