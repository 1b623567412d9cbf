"""Admin pages: config."""
