"""Disc publishing: rules pick an action for a completed study, jobs make the discs on
stations (a robot with its drives, a PTBurn host, or one drive by hand). See
docs/publishing.md."""
