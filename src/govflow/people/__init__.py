"""The organisation and its people: departments, posts and lanes (``org``), accounts, passwords and
tokens (``auth``), who acts for whom while someone is away (``substitution``, P1/P2), and who may see
which instance (``access``).

Layer 4: imports only ``store`` and the layers below it.
"""
