"""Admin pages: pushes."""
