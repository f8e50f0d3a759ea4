"""Sphinx extension of the book: a numbered figure around a figure glued in *another* page.

MyST-NB's ``{glue:figure}`` pastes only from the page it stands in, and ``{glue}`page.md::name``` pastes
across pages without a figure around the image: no number, no caption, and an image whose alt text is its
file name. The landing page shows one figure of each chapter, so it needs both. This extension adds

    ```{glue-figure} chapters/00-denoisers-and-generalization.md::landing
    :name: fig-intro-ch0
    :alt: What the picture shows, for a reader who cannot see it.

    The caption, one paragraph.
    ```

which wraps MyST-NB's cross-page paste (resolved after reading, when every chapter has run) in a numbered
figure with that caption, and gives the pasted image the alt text once the paste is resolved. It is loaded
from ``_config.yml`` (``sphinx.extra_extensions``).
"""
from __future__ import annotations

from docutils import nodes
from docutils.parsers.rst import directives

ALT = "gendiff_alt"


def _directive():
    from sphinx.util.docutils import SphinxDirective

    class GlueFigure(SphinxDirective):
        """``{glue-figure} <page>::<name>`` with ``:name:``, ``:alt:`` and a one-paragraph caption."""

        required_arguments = 1
        has_content = True
        option_spec = {"name": directives.unchanged, "alt": directives.unchanged}

        def run(self):
            from myst_nb.ext.glue.utils import create_pending_glue_ref

            page, sep, key = self.arguments[0].partition("::")
            if not sep or not key:
                raise self.error(f"glue-figure: expected '<page>::<name>', got {self.arguments[0]!r}")
            source, line = self.get_source_info()
            ref = create_pending_glue_ref(self.state.document, source, line, page, key)
            fig = nodes.figure("", ref)
            fig[ALT] = self.options.get("alt", "")
            self.set_source_info(fig)
            self.add_name(fig)
            if self.content:
                holder = nodes.Element()
                self.state.nested_parse(self.content, self.content_offset, holder)
                first = holder[0] if len(holder) else None
                if not isinstance(first, nodes.paragraph):
                    raise self.error("glue-figure: the caption must be one paragraph")
                fig += nodes.caption(first.rawsource, "", *first.children)
            return [fig]

    return GlueFigure


def _alt_transform():
    from sphinx.transforms.post_transforms import SphinxPostTransform

    class GlueFigureAlt(SphinxPostTransform):
        """Give the resolved image of each ``glue-figure`` its alt text (after MyST-NB's paste, priority 5)."""

        default_priority = 6

        def run(self, **kwargs):
            for fig in self.document.findall(nodes.figure):
                alt = fig.get(ALT)
                if alt:
                    for img in fig.findall(nodes.image):
                        img["alt"] = alt

    return GlueFigureAlt


def setup(app):
    app.add_directive("glue-figure", _directive())
    app.add_post_transform(_alt_transform())
    return {"parallel_read_safe": True, "parallel_write_safe": True}
