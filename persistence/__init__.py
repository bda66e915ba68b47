"""Storage for Jifen: SQLAlchemy 2 (async) on SQLite or PostgreSQL, implementing ``domain.ports``."""
