"""Analytics: tickets sold, revenue and occupancy per day, per movie and per showtime."""
