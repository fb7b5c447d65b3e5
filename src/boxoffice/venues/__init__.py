"""Venues: cinemas, their screens and seat layouts."""
