"""Storage: SQLAlchemy tables, engines, the encrypted column type and Alembic migrations."""
