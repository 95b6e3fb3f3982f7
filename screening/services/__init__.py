"""Services of the screening app: typed functions that own the logic and their transactions."""
