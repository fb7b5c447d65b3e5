"""Small shared pieces used by every domain: clock, ids, money, pagination."""
