"""Running work: the system a request or a worker is given (``system``), the step that starts an
instance, completes a task or fires a timer (``instances``), the inbox rows derived from it
(``inbox``), what people do to tasks (``tasks``, ``rewind``, ``circulation``, ``task_detail``), the
meetings convened (``convening``), an instance's progress on its diagram (``progress``), the timer
worker (``worker``) and what an administrator changes (``admin``).

Layer 9: imports only ``rules`` and the layers below it.
"""
