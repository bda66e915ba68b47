"""Jifen's GraphQL API: strawberry types and resolvers over the domain services, served by starlette."""
