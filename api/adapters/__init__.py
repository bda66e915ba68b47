"""Ports the domain calls out through, implemented with the network: real-time brokers (local,
Redis) and the HTTP transport of outbound webhooks."""
