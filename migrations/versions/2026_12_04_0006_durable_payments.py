"""Durable payments: charge attempts with their own idempotency keys, refunds as jobs, attempt links.

Payments gain `idempotency_key` (unique; existing rows get `legacy-<id>`), `client_key`, `purpose` and
`plan`; refunds gain a job's columns (`status`, `idempotency_key`, `attempts`, `next_attempt_at`,
`last_error`, `completed_at`; existing rows were sent already: `succeeded`); idempotency records gain the
payment attempt they started.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import boxoffice.db

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the attempt and job columns, fill them for existing rows, then make them required."""
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("idempotency_key", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("client_key", sa.String(length=200), nullable=True))
        batch_op.add_column(
            sa.Column(
                "purpose",
                sa.Enum("booking", "seat_change", name="paymentpurpose", native_enum=False, length=16),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("plan", sa.JSON(), nullable=True))
    op.execute("UPDATE payments SET idempotency_key = 'legacy-' || id, purpose = 'booking'")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.alter_column("idempotency_key", existing_type=sa.String(length=80), nullable=False)
        batch_op.alter_column(
            "purpose",
            existing_type=sa.Enum(
                "booking", "seat_change", name="paymentpurpose", native_enum=False, length=16
            ),
            nullable=False,
        )
        batch_op.create_unique_constraint(op.f("uq_payments_idempotency_key"), ["idempotency_key"])
        batch_op.create_index("ix_payments_status_created", ["status", "created_at"], unique=False)

    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "status",
                sa.Enum("pending", "succeeded", "failed", name="refundstatus", native_enum=False, length=16),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("idempotency_key", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("next_attempt_at", boxoffice.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("last_error", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("completed_at", boxoffice.db.UTCDateTime(), nullable=True))
    op.execute(
        "UPDATE refunds SET status = 'succeeded', idempotency_key = 'legacy-' || id, attempts = 1, "
        "next_attempt_at = created_at, completed_at = created_at"
    )
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.alter_column(
            "status",
            existing_type=sa.Enum(
                "pending", "succeeded", "failed", name="refundstatus", native_enum=False, length=16
            ),
            nullable=False,
        )
        batch_op.alter_column("idempotency_key", existing_type=sa.String(length=80), nullable=False)
        batch_op.alter_column("attempts", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("next_attempt_at", existing_type=boxoffice.db.UTCDateTime(), nullable=False)
        batch_op.create_unique_constraint(op.f("uq_refunds_idempotency_key"), ["idempotency_key"])
        batch_op.create_index("ix_refunds_booking_id", ["booking_id"], unique=False)
        batch_op.create_index("ix_refunds_due", ["status", "next_attempt_at"], unique=False)

    with op.batch_alter_table("idempotency_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payment_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_idempotency_records_payment_id_payments"),
            "payments",
            ["payment_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    """Drop the columns again (pending attempts and refund jobs lose their state)."""
    with op.batch_alter_table("idempotency_records", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_idempotency_records_payment_id_payments"), type_="foreignkey")
        batch_op.drop_column("payment_id")
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_index("ix_refunds_due")
        batch_op.drop_index("ix_refunds_booking_id")
        batch_op.drop_constraint(op.f("uq_refunds_idempotency_key"), type_="unique")
        for column in (
            "completed_at",
            "last_error",
            "next_attempt_at",
            "attempts",
            "idempotency_key",
            "status",
        ):
            batch_op.drop_column(column)
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index("ix_payments_status_created")
        batch_op.drop_constraint(op.f("uq_payments_idempotency_key"), type_="unique")
        for column in ("plan", "purpose", "client_key", "idempotency_key"):
            batch_op.drop_column(column)
