"""calls.blob_version: the version ID the blob store gave the audio at capture

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 18:00:00

On a versioned S3 bucket every erasure listed the object's versions before deleting them, which
cost more than the erasure itself (docs/scale-out.md). The version ID that ``PutObject`` /
``CompleteMultipartUpload`` answers is kept instead; NULL (the folder backend, calls stored
before this migration) keeps the listing.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("blob_version", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_column("blob_version")
