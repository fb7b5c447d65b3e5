"""Accounts: users, roles, tokens, two-factor, email verification and password reset."""
