"""The web role: JSON API now, the status page with its own issue."""
