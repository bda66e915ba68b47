"""SQLite's direct reads (persistence/direct_reads.py) answer exactly what SQLAlchemy answers for the same select."""
import shutil
from datetime import timedelta

from api.services import Services
from domain.campaigns import Campaign
from domain.configuration import Actor
from domain.ledger import LedgerReason
from persistence.campaigns import ACTIVE
from persistence.checkin import LATEST_OF_ONE
from persistence.direct_reads import DirectRead
from persistence.idempotency import RECORD
from persistence.ledger import FIRST_PAGE
from persistence.members import LIVE_LOTS, LOCK_MEMBER, MEMBER_BY_EXTERNAL_ID, MEMBER_BY_ID

STAFF = Actor("staff", "ops")


async def test_each_direct_read_returns_what_sqlalchemy_returns(sqlite_template, tmp_path, clock):
    path = tmp_path / "direct.db"
    shutil.copy(sqlite_template, path)
    services = Services.build(f"sqlite:///{path}", clock)
    try:
        member = await services.members.ensure("d1", "直读")
        for i in range(3):
            assert (await services.points.adjust(STAFF, member.id, 10 + i, f"memo {i}", f"k{i}")).error is None
        assert (await services.check_in.check_in(Actor("member", "d1"), member.id, "c1")).error is None
        await services.campaigns.save(STAFF, Campaign("x2", "双倍", 2000, clock.now() - timedelta(hours=1),
                                                      clock.now() + timedelta(days=1), (LedgerReason.ORDER,)),
                                      create=True)
        connection = services.database.inline_reads.connection()
        scope, key = connection.exec_driver_sql("SELECT scope, key FROM idempotency_keys LIMIT 1").one()
        cases = [(MEMBER_BY_ID, {"member_id": member.id}), (LOCK_MEMBER, {"member_id": member.id}),
                 (MEMBER_BY_EXTERNAL_ID, {"external_id": "d1"}), (LIVE_LOTS, {"member_id": member.id}),
                 (FIRST_PAGE, {"member_id": member.id, "limit": 3}), (LATEST_OF_ONE, {"member_id": member.id}),
                 (RECORD, {"scope": scope, "key": key}), (ACTIVE, {"at": clock.now()})]
        driver = connection.connection.driver_connection
        for statement, parameters in cases:
            expected = connection.execute(statement, parameters).all()
            got = DirectRead(statement, connection.dialect).run(driver, parameters)
            assert [tuple(row) for row in got] == [tuple(row) for row in expected], statement
            assert all(row._fields == tuple(e._fields) for row, e in zip(got, expected))
        assert all(DirectRead(s, connection.dialect).run(driver, p) for s, p in cases)
        newest = DirectRead(FIRST_PAGE, connection.dialect).run(driver, {"member_id": member.id, "limit": 1})[0]
        assert newest.occurred_at == clock.now() and newest.occurred_at.utcoffset() == timedelta(0)
    finally:
        await services.close()
