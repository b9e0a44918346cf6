"""Verification of dispatched records (writes). Intake and matching are in intake.py."""
