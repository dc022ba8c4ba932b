"""Reports fit for a case file: the entity case report (HTML and PDF, English or French), its
tables and charts, the money network around an entity and its drawing, and the
suspicious-transaction report in the goAML XML structure."""
