"""Analyzers: one small module per analysis, each a walk over the layer graph.

Every module in this package is imported here, so adding an analysis means adding a
module that registers itself with :func:`cnnscope.analyze.base.analyzer`; a module whose name
starts with ``_`` holds part of one, which that analysis imports when it needs it.
"""

from __future__ import annotations

from cnnscope.analyze.base import Column, Context, Report, analyze, analyzer, analyzers
from cnnscope.modules import import_all

import_all(__name__, __path__, skip=("base",))

__all__ = ["Column", "Context", "Report", "analyze", "analyzer", "analyzers"]
