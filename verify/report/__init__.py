"""Markdown reports.

Pure rendering (:mod:`.render`), figures (:mod:`.figures`) and an atomic writer
(:mod:`.writer`).
"""

from .render import claim_page, index_page, summary_table
from .writer import write_report

__all__ = ["claim_page", "index_page", "summary_table", "write_report"]
