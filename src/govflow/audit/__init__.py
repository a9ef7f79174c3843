"""What auditors use: re-running a recorded history (``replay``, ``replay_steps``), the log for
process-mining tools (``exports``), backups checked before they are trusted (``backup``), and the
record of what auditors read (``readings``).

Layer 10: imports only ``work`` and the layers below it.
"""
