"""Email: rendering from templates and delivery through a durable outbox (SMTP or .eml files)."""
