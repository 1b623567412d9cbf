"""Admin pages: status."""
