"""Services: the single window business (declarations, certificates, logistics)."""
