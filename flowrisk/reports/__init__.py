"""Reports fit for a case file: the entity case report (HTML and PDF, English or French), its
tables and charts, and the suspicious-transaction report in the goAML XML structure."""
