"""Storage: the tables (``models``), the database and its transactions (``database``), the
hash-chained event log every step appends to (``eventlog``), the clock whose setting is a row so
that servers and workers agree (``clock``), the workflows a process keeps restored
(``workflow_cache``), and the alembic history (``migrations/``).

Layer 3: imports only ``time``, ``profiles`` and the base modules (``errors``, ``config``).
"""
