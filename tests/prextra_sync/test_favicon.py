"""Every page names the product's icon (static/favicon.svg), a small SVG the browser tab shows."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree

from django.contrib.staticfiles import finders
from django.templatetags.static import static

SVG = "{http://www.w3.org/2000/svg}"


def test_pages_link_the_icon(client, db):
    html = client.get("/connexion/").content.decode()
    link = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', html)
    assert link and link.group(1) == static("favicon.svg")


def test_the_icon_is_a_square_svg_in_the_products_colours():
    path = finders.find("favicon.svg")
    assert path, "static/favicon.svg is not found by the static files finders"
    root = ElementTree.parse(path).getroot()
    assert root.tag == f"{SVG}svg" and root.get("viewBox") == "0 0 32 32"
    colours = {element.get("fill") or element.get("stroke") for element in root.iter()} - {None}
    assert {"#1f4e79", "#f5a623"} <= colours  # the top bar's blue, the brand's orange X
