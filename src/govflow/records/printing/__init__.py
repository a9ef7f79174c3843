"""The papers a 公文 is printed on, as PDF: the 办文单 and the 发文稿纸 for the paper file, and the
document as issued at 印发 in the layout of GB/T 9704-2012 (党政机关公文格式). ``papers`` says what
each paper carries, read from an instance's data and events; ``render`` lays it out (HTML and CSS
through WeasyPrint, Chinese fonts from the distribution: Noto CJK, WenQuanYi as a fallback).

Part of the records layer: imports only ``bpmn`` and the layers below it.
"""
