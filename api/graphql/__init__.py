"""GraphQL types and resolvers, one module per business area."""
