"""Device API routes."""
