"""Booking: holds, bookings, tickets, check-in, cancellations and the hold sweeper."""
