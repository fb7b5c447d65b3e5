"""Showtimes: scheduling a movie on a screen, its prices, and its seat inventory."""
