"""The demo's generated pictures are real PNGs that Qt can decode."""

from __future__ import annotations

from PySide6.QtGui import QImage

from desktop.simulator.images import landscape_png, solid_png


def test_landscape_decodes_with_the_expected_size() -> None:
    image = QImage()
    assert image.loadFromData(landscape_png(160, 120), "PNG")
    assert (image.width(), image.height()) == (160, 120)
    # Sky at the top, grass at the bottom: the scene is drawn, not blank.
    top, bottom = image.pixelColor(5, 2), image.pixelColor(5, 118)
    assert top.blue() > top.green()
    assert bottom.green() > bottom.blue()


def test_solid_png_has_the_requested_colour() -> None:
    image = QImage()
    assert image.loadFromData(solid_png(4, 3, (10, 200, 30)), "PNG")
    color = image.pixelColor(3, 2)
    assert (color.red(), color.green(), color.blue()) == (10, 200, 30)
