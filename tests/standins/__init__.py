"""Stand-ins for outside services (payment providers), shared by the tests."""
