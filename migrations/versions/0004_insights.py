"""Insights: turn records, feedback, maintenance switches, knowledge reloads;
curators have no team; a closed case keeps how it ended (outcome_code)

The role column is a VARCHAR(20) without a CHECK constraint, so the new
"curator" role needs no change to it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05 19:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MUNICIPALITY = sa.Enum(
    "ballerup", "gladsaxe", "rodovre", "rudersdal", name="municipality", native_enum=False, length=20
)
AUDIENCE = sa.Enum("borger", "virksomhed", name="audience", native_enum=False, length=20)
TEAM = sa.Enum("borger", "virksomhed", name="team", native_enum=False, length=20)
OUTCOME = sa.Enum(
    "answered", "follow_up", "referred", "no_contact", "other", name="outcome", native_enum=False, length=20
)


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "turn_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sender_hash", sa.String(length=16), nullable=False),
        sa.Column("municipality", MUNICIPALITY, nullable=True),
        sa.Column("audience", AUDIENCE, nullable=True),
        sa.Column("intent", sa.String(length=64), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=True),
        sa.Column("topic", sa.String(length=40), nullable=True),
        sa.Column("article_id", sa.String(length=100), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("question", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("turn_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_turn_records_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_turn_records_sender_hash"), ["sender_hash"], unique=False)
        batch_op.create_index("ix_turn_records_municipality_at", ["municipality", "at"], unique=False)

    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("turn_id", sa.Integer(), nullable=True),
        sa.Column("sender_hash", sa.String(length=16), nullable=False),
        sa.Column("municipality", MUNICIPALITY, nullable=True),
        sa.Column("article_id", sa.String(length=100), nullable=True),
        sa.Column("helpful", sa.Boolean(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["turn_id"], ["turn_records.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_feedback_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_feedback_sender_hash"), ["sender_hash"], unique=False)
        batch_op.create_index(batch_op.f("ix_feedback_turn_id"), ["turn_id"], unique=False)

    op.create_table(
        "maintenance",
        sa.Column("scope", sa.String(length=20), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope"),
    )
    op.create_table(
        "knowledge_reloads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("caseworkers", schema=None) as batch_op:
        batch_op.alter_column("team", existing_type=TEAM, nullable=True)
    with op.batch_alter_table("handoff_cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("outcome_code", OUTCOME, nullable=True))


def downgrade() -> None:
    """Downgrade schema. Curators (no team) cannot be kept: they are deleted."""
    with op.batch_alter_table("handoff_cases", schema=None) as batch_op:
        batch_op.drop_column("outcome_code")
    curators = "SELECT id FROM caseworkers WHERE team IS NULL"
    op.execute(f"DELETE FROM caseworker_sessions WHERE caseworker_id IN ({curators})")
    op.execute(f"UPDATE audit_log SET caseworker_id = NULL WHERE caseworker_id IN ({curators})")
    op.execute("DELETE FROM caseworkers WHERE team IS NULL")
    with op.batch_alter_table("caseworkers", schema=None) as batch_op:
        batch_op.alter_column("team", existing_type=TEAM, nullable=False)
    op.drop_table("knowledge_reloads")
    op.drop_table("maintenance")
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feedback_turn_id"))
        batch_op.drop_index(batch_op.f("ix_feedback_sender_hash"))
        batch_op.drop_index(batch_op.f("ix_feedback_at"))
    op.drop_table("feedback")
    with op.batch_alter_table("turn_records", schema=None) as batch_op:
        batch_op.drop_index("ix_turn_records_municipality_at")
        batch_op.drop_index(batch_op.f("ix_turn_records_sender_hash"))
        batch_op.drop_index(batch_op.f("ix_turn_records_at"))
    op.drop_table("turn_records")
