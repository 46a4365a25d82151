"""Test helpers that are not tests (model fixtures)."""
