"""Payments: the provider protocol, the simulated and Stripe providers, webhooks and refunds."""
