"""The procedures' own records, written inside the steps that make them: what a 公文 carries
(``documents``), 发文字号 (``numbering``) and the 发文登记簿 (``register``), the 常务会议
(``meetings``), 督办事项 (``followups``) and their 台账 (``ledger``), and ``runtime``: what a step
may consult besides its data (the organisation, the profile, the calendar, these records).

Layer 7: imports only ``bpmn`` and the layers below it.
"""
