"""Time as govflow counts it: Shanghai moments for people and UTC for storage (``timeutil``), and
the 工作日 calendar deadlines are counted in (``workdays``).

Layer 1, the lowest package: pure functions over dates; it imports only ``errors`` and ``config``.
"""
