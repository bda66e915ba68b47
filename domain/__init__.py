"""Jifen's business rules: pure Python, no frameworks, no storage.

Services here talk to storage only through the ports in ``domain.ports``.
"""
