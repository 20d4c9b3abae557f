"""The durable queue of events for Rasa's tracker

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05 18:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rasa_event_queue",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender", sa.String(length=64), nullable=False),
        sa.Column("event", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("leased_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("rasa_event_queue", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rasa_event_queue_sender"), ["sender"], unique=False)
        batch_op.create_index(batch_op.f("ix_rasa_event_queue_next_attempt_at"), ["next_attempt_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("rasa_event_queue", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rasa_event_queue_next_attempt_at"))
        batch_op.drop_index(batch_op.f("ix_rasa_event_queue_sender"))
    op.drop_table("rasa_event_queue")
