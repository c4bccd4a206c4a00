"""Anonymous results: dimensions, count tables, small-cell suppression and word counts (pure, no database)."""
