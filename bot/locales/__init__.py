"""Message catalogs, one TOML file per language."""
