"""GraphQL documents the tests send, written as a client would."""

ME = """
query Me($first: Int!, $after: String, $reasons: [LedgerReason!]) {
  me {
    id memberId nickname growth
    tier { level code name earnMultiplier }
    points { available pending held lifetimeEarned expiringSoon(days: 30) }
    checkIn { streak checkedInToday }
    ledger(first: $first, after: $after, reasons: $reasons) {
      edges { cursor node { id delta balanceAfter reason occurredAt expiresAt memo } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }
}
"""

CHECK_IN = """
mutation CheckIn($key: String!) {
  checkIn(input: {idempotencyKey: $key}) {
    entry { id delta balanceAfter reason }
    entries { id delta balanceAfter reason }
    member { points { available } checkIn { streak checkedInToday } growth tier { level } }
    userErrors { field message code }
  }
}
"""

ADJUST = """
mutation Adjust($memberId: ID!, $delta: Int!, $memo: String!, $key: String!) {
  adjustPoints(input: {memberId: $memberId, delta: $delta, memo: $memo, idempotencyKey: $key}) {
    entry { id delta balanceAfter reason memo createdBy }
    member { memberId points { available held } }
    userErrors { field message code }
  }
}
"""

UPDATE_TIER = """
mutation Tier($level: Int!, $name: String!, $threshold: Int!, $multiplier: Float!) {
  updateTier(input: {level: $level, name: $name, growthThreshold: $threshold, earnMultiplier: $multiplier,
                     perks: ["包邮"]}) {
    tiers { level growthThreshold earnMultiplier }
    userErrors { field message code }
  }
}
"""
