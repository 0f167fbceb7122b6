"""The web chat's theme: Gradio's default, with a font whose every weight in use is a whole font file.

Gradio's default theme registers Source Sans Pro at weights 400 and 600, and the 600 file it ships is a
5 KB subset: glyphs it lacks (a capital "A" among them) fall back to another font, so bold headings mixed
two typefaces ("l'Afghanistan", "Add files"). The shipped Regular and Bold files are complete; with 400
and 700 registered, semi-bold text uses the Bold file.
"""

from __future__ import annotations

import gradio as gr


def theme() -> gr.themes.Base:
    return gr.themes.Default(font=(gr.themes.LocalFont("Source Sans Pro", weights=(400, 700)),
                                   "ui-sans-serif", "system-ui", "sans-serif"))
