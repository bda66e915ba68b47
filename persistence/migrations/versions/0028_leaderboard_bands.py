"""Members per score band and per exact score (by block of member ids) of each leaderboard, kept by
triggers on the scores, so a rank without Redis sums counts instead of counting every member ahead
(domain.leaderboards.score_band, persistence/leaderboards.py).

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

SHARDS = 8  # concurrent writers of different members seldom meet on one band row
BLOCK = 4096  # member ids per block of a tie: a tie is counted a block at a time, then within one


def band(points: str) -> str:
    """score_band's low end in SQL: the same arithmetic on both databases."""
    steps = " ".join(f"WHEN {points} < {10 ** digits} THEN {points} - {points} % {10 ** (digits - 2)}"
                     for digits in range(3, 19))
    return f"(CASE WHEN {points} < 100 THEN {points} {steps} ELSE {points} - {points} % {10 ** 17} END)"


def add_one(row: str) -> str:
    return (f"INSERT INTO leaderboard_bands (period, starts_on, band, shard, members) VALUES "
            f"({row}.period, {row}.starts_on, {band(f'{row}.points')}, {row}.member_id % {SHARDS}, 1) "
            f"ON CONFLICT (period, starts_on, band, shard) DO UPDATE SET members = leaderboard_bands.members + 1")


def take_one(row: str) -> str:
    return (f"UPDATE leaderboard_bands SET members = members - 1 WHERE period = {row}.period AND "
            f"starts_on = {row}.starts_on AND band = {band(f'{row}.points')} AND shard = {row}.member_id % {SHARDS}")


def tie_add_one(row: str) -> str:
    return (f"INSERT INTO leaderboard_ties (period, starts_on, points, block, members) VALUES "
            f"({row}.period, {row}.starts_on, {row}.points, {row}.member_id / {BLOCK}, 1) "
            f"ON CONFLICT (period, starts_on, points, block) DO UPDATE SET members = leaderboard_ties.members + 1")


def tie_take_one(row: str) -> str:
    return (f"UPDATE leaderboard_ties SET members = members - 1 WHERE period = {row}.period AND "
            f"starts_on = {row}.starts_on AND points = {row}.points AND block = {row}.member_id / {BLOCK}")


SQLITE_TRIGGERS = [
    f"CREATE TRIGGER leaderboard_counts_insert AFTER INSERT ON leaderboard_scores "
    f"BEGIN {add_one('NEW')}; {tie_add_one('NEW')}; END",
    f"CREATE TRIGGER leaderboard_ties_update AFTER UPDATE OF points ON leaderboard_scores "
    f"WHEN OLD.points <> NEW.points BEGIN {tie_take_one('OLD')}; {tie_add_one('NEW')}; END",
    f"CREATE TRIGGER leaderboard_bands_update AFTER UPDATE OF points ON leaderboard_scores "
    f"WHEN {band('OLD.points')} <> {band('NEW.points')} BEGIN {take_one('OLD')}; {add_one('NEW')}; END",
    f"CREATE TRIGGER leaderboard_counts_delete AFTER DELETE ON leaderboard_scores "
    f"BEGIN {take_one('OLD')}; {tie_take_one('OLD')}; END",
]
SQLITE_TRIGGER_NAMES = ("leaderboard_counts_insert", "leaderboard_ties_update", "leaderboard_bands_update",
                        "leaderboard_counts_delete")
PG_FUNCTION = f"""
CREATE FUNCTION leaderboard_counts() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND OLD.points = NEW.points THEN
    RETURN NULL;
  END IF;
  IF TG_OP <> 'INSERT' THEN
    {tie_take_one('OLD')};
    IF TG_OP = 'DELETE' OR {band('OLD.points')} <> {band('NEW.points')} THEN
      {take_one('OLD')};
    END IF;
  END IF;
  IF TG_OP <> 'DELETE' THEN
    {tie_add_one('NEW')};
    IF TG_OP = 'INSERT' OR {band('OLD.points')} <> {band('NEW.points')} THEN
      {add_one('NEW')};
    END IF;
  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql
"""
PG_TRIGGER = """
CREATE TRIGGER leaderboard_counts AFTER INSERT OR UPDATE OF points OR DELETE ON leaderboard_scores
FOR EACH ROW EXECUTE FUNCTION leaderboard_counts()
"""


def upgrade() -> None:
    op.create_table(
        "leaderboard_bands",
        sa.Column("period", sa.String(8), primary_key=True),
        sa.Column("starts_on", sa.Date, primary_key=True),
        sa.Column("band", sa.BigInteger, primary_key=True),
        sa.Column("shard", sa.Integer, primary_key=True),
        sa.Column("members", sa.BigInteger, nullable=False))
    op.create_table(
        "leaderboard_ties",
        sa.Column("period", sa.String(8), primary_key=True),
        sa.Column("starts_on", sa.Date, primary_key=True),
        sa.Column("points", sa.BigInteger, primary_key=True),
        sa.Column("block", sa.BigInteger, primary_key=True),
        sa.Column("members", sa.BigInteger, nullable=False))
    op.execute(f"INSERT INTO leaderboard_bands (period, starts_on, band, shard, members) "
               f"SELECT period, starts_on, {band('points')}, member_id % {SHARDS}, count(*) FROM leaderboard_scores "
               f"GROUP BY period, starts_on, {band('points')}, member_id % {SHARDS}")
    op.execute(f"INSERT INTO leaderboard_ties (period, starts_on, points, block, members) "
               f"SELECT period, starts_on, points, member_id / {BLOCK}, count(*) FROM leaderboard_scores "
               f"GROUP BY period, starts_on, points, member_id / {BLOCK}")
    if op.get_bind().dialect.name == "sqlite":
        for trigger in SQLITE_TRIGGERS:
            op.execute(trigger)
    else:
        op.execute(PG_FUNCTION)
        op.execute(PG_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in SQLITE_TRIGGER_NAMES:
            op.execute(f"DROP TRIGGER {name}")
    else:
        op.execute("DROP TRIGGER leaderboard_counts ON leaderboard_scores")
        op.execute("DROP FUNCTION leaderboard_counts()")
    op.drop_table("leaderboard_ties")
    op.drop_table("leaderboard_bands")
