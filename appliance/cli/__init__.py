"""The field engineer's command line (click)."""
