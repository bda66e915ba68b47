"""Each check-in row carries the member's running totals of check-in days: all told, and in its
calendar month (累计签到), counted here for the rows already there.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("check_ins", sa.Column("total_days", sa.Integer, nullable=False, server_default="0"))
    op.add_column("check_ins", sa.Column("month_days", sa.Integer, nullable=False, server_default="0"))
    bind = op.get_bind()
    month = "strftime('%Y-%m', local_date)" if bind.dialect.name == "sqlite" else "date_trunc('month', local_date)"
    bind.exec_driver_sql(
        "UPDATE check_ins SET total_days = counted.total_days, month_days = counted.month_days FROM ("
        " SELECT member_id, local_date,"
        " row_number() OVER (PARTITION BY member_id ORDER BY local_date) AS total_days,"
        f" row_number() OVER (PARTITION BY member_id, {month} ORDER BY local_date) AS month_days"
        " FROM check_ins) AS counted"
        " WHERE check_ins.member_id = counted.member_id AND check_ins.local_date = counted.local_date")


def downgrade() -> None:
    with op.batch_alter_table("check_ins") as batch:
        batch.drop_column("month_days")
        batch.drop_column("total_days")
