"""One module per revision of the cases' tables."""
