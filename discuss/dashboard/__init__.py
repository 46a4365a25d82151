"""dashboard surface (blueprint defined in this package)."""
