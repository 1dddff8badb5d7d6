"""Storage: one interface, two backends (SQLite for one machine, PostgreSQL for replicas).

No SQL lives outside this package. `database.Database` opens the engine, migrates it and holds
one store per concern, each a module with the SQL for that concern alone, run on either backend
through `engine.Engine`; the few places where the two dialects differ are in `engine.py` alone.

- federation: `membership` (members, invitations, trusted anchors; central), `directories`;
- messages: `outbox`, `inbox`;
- parties and identity: `parties`, `users`, `sessions`, `revocations`, `login_failures`,
  `attempts`, and the central's `national_registry` (one home per USCC); `columns` holds the
  list format their columns share;
- trade: `declarations`, `certificates`, `logistics`, `sharing`;
- the schema: `migrations` and the files in `schema/`.

Functions that must run inside a transaction take a `Tx` and carry a `_txn` suffix.
"""
