"""auth surface (blueprint defined in this package)."""
