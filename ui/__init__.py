"""itp desktop app (PySide6 + pyqtgraph) on top of the Qt-free core in `programmer`."""
