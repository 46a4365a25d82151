"""Moderation rules and site settings."""
