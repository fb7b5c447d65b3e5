"""Operations tooling: backups and restores of the database."""
