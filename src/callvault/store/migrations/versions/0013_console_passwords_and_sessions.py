"""console logins: a password hash per API user, and console sessions

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 08:00:00

``api_users.password_hash`` holds an Argon2id PHC string (NULL: the user has no password and
cannot log in to the console). ``console_sessions`` keeps only a SHA-256 of each session ID.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import callvault.store.types

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("password_hash", sa.String(length=200), nullable=True))
    op.create_table(
        "console_sessions",
        sa.Column("id_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", callvault.store.types.UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", callvault.store.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["api_users.id"],
            name=op.f("fk_console_sessions_user_id_api_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_console_sessions")),
    )
    with op.batch_alter_table("console_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_console_sessions_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_table("console_sessions")
    with op.batch_alter_table("api_users", schema=None) as batch_op:
        batch_op.drop_column("password_hash")
