"""Storage: one interface, two backends (SQLite for one machine, PostgreSQL for replicas).

No SQL lives outside this package. Domain modules (`registry`, `directories`, ...) hold the SQL
for one concern each and run on either backend through `engine.Engine`; the few places where the
two dialects differ are in `engine.py` alone. Functions that must run inside a transaction take a
`Tx` and carry a `_txn` suffix.
"""
