"""SpiffWorkflow as govflow runs it: parsing and spec-free snapshots (``spiff``), the script engine
(``scripting``) and its gate (``sandbox``), what may be stored as process data (``data``), a long
history's compaction (``compaction``), user-task forms (``forms``) and the service-task operators a
diagram calls by name (``operators``).

Layer 5: imports only ``people`` and the layers below it (in fact only ``time`` and the base
modules). The one exception: ``operators`` finds the rule modules (``rules``) at first use, so that
each rule registers itself under its name without the engine naming any rule.
"""
