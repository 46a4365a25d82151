"""embed surface (blueprint defined in this package)."""
