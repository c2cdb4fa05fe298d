"""Persistence: SQLAlchemy tables and queries for the calls database and the separate key store."""
