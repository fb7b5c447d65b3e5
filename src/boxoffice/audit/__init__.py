"""The audit log: who did what to which account or booking, when and from where."""
