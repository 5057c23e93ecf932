"""Public JSON API v1, open-data CSV exports and the partner signing API."""
