"""Alt text for the figures that notebook cells draw: myst-nb leaves it empty, so the HTML writer falls
back to the image's file path ("../_images/3f2a....png"), which a screen reader then reads out."""
from __future__ import annotations

from docutils import nodes
from sphinx.application import Sphinx

OUTPUT_ALT = "코드 셀이 그린 그림"


def label_output_images(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """doctree-resolved handler: give output images without a real alt text a Korean one."""
    for image in doctree.findall(nodes.image):
        alt = image.get("alt", "")
        if not alt or alt == image.get("uri"):
            parent = image.parent
            while parent is not None and "cell_output" not in parent.get("classes", []):
                parent = parent.parent
            if parent is not None:
                image["alt"] = OUTPUT_ALT
