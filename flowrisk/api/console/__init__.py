"""The analysts' web console (the console framework lands here)."""
