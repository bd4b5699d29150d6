"""A picture at full size, with Save As and Open With; Escape closes it.

The picture is decoded off the GUI thread (a phone photo is 12 megapixels) at no more than
the screen can show, with the same size guards the thumbnailer uses.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from PySide6.QtCore import QSize, Qt, QUrl
from PySide6.QtGui import QDesktopServices, QImage, QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from desktop.ui import theme as theme_module
from desktop.ui.icons import icon
from desktop.ui.image_cache import decode
from desktop.ui.tasks import run_in_background

logger = logging.getLogger(__name__)


class ImageViewer(QDialog):
    def __init__(self, path: Path, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("imageViewer")
        self.setWindowTitle(title)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._path = path
        self._pixmap: QPixmap | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        self.picture = QLabel("Loading picture…", self)
        self.picture.setObjectName("picture")
        self.picture.setAccessibleName("Picture")
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setMinimumSize(240, 180)
        self.picture.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        layout.addWidget(self.picture, 1)
        buttons = QHBoxLayout()
        t = theme_module.current()
        save = QPushButton(icon("save", t.text), "Save As…", self)
        save.setObjectName("saveAs")
        save.clicked.connect(self.save_as)
        buttons.addWidget(save)
        opener = QPushButton(icon("open", t.text), "Open With System Viewer", self)
        opener.clicked.connect(self.open_externally)
        buttons.addWidget(opener)
        buttons.addStretch(1)
        close = QPushButton("Close", self)
        close.clicked.connect(self.close)
        buttons.addWidget(close)
        layout.addLayout(buttons)
        screen = self.screen().availableGeometry() if self.screen() else None
        limit = QSize(1600, 1200) if screen is None else screen.size() * 0.8
        self.resize(QSize(min(limit.width(), 900), min(limit.height(), 700)))
        dpr = self.devicePixelRatioF()
        target = QSize(int(limit.width() * dpr), int(limit.height() * dpr))
        run_in_background(lambda: decode(path, target), self._show, self._failed, context=self)

    def _show(self, image: QImage) -> None:
        self._pixmap = QPixmap.fromImage(image)
        self._pixmap.setDevicePixelRatio(self.devicePixelRatioF())
        self._fit()

    def _failed(self, exc: BaseException) -> None:
        self.picture.setText(f"This picture can't be shown: {exc}")

    def _fit(self) -> None:
        if self._pixmap is None:
            return
        dpr = self.devicePixelRatioF()
        area = self.picture.size() * dpr
        scaled = self._pixmap.scaled(
            area.boundedTo(self._pixmap.size()),
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
        scaled.setDevicePixelRatio(dpr)
        self.picture.setPixmap(scaled)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()

    def save_as(self) -> None:
        suggested = str(Path.home() / self._path.name)
        target, _ = QFileDialog.getSaveFileName(self, "Save picture", suggested)
        if not target:
            return
        source = self._path

        def copy() -> None:
            shutil.copyfile(source, target)

        def failed(exc: BaseException) -> None:
            QMessageBox.warning(self, "Save picture", f"Could not save the picture: {exc}")

        run_in_background(copy, None, failed, context=self)

    def open_externally(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self._path)))
