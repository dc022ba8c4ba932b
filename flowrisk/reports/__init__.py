"""Reports fit for a case file: the case report, its drawings (the money network) and exports."""
