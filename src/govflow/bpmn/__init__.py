"""Diagrams as files: safe parsing and the XSD (``xml``), timer normalisation (``timers``),
govflow's own checks (``lint``) and their problems (``problems``), deploying a checked file as a
version (``deploy``), and the deployed versions parsed once per process (``definitions``).

Layer 6: imports only ``engine`` and the layers below it.
"""
