"""Running GraphQL documents: the schema, the context, the short ways (planned queries, fast leaves),
cost, error masking."""
