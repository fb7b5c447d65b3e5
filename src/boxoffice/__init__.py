"""boxoffice: movie-ticket booking for cinema chains."""

__version__ = "0.1.0"
