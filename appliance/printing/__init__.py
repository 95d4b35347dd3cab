"""The print server: Print SCP, film composition, paper and film outputs (docs/print.md)."""
