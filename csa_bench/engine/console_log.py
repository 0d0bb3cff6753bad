"""A quiet console for mmengine runs: the dumps go to the log file only (issue 17).

mmengine's Runner logs the whole environment, the whole config and the hook order (~290 lines for a
small config) before the first iteration, and each evaluation as one line that can run to thousands
of characters. :class:`QuietConsoleFilter`, attached to the logger's console handlers only, keeps
those out of the terminal; the log file under the work dir still receives every record.
"""
from __future__ import annotations

import logging
import re

#: Messages kept out of the console: the environment and config dumps, the hook order, and the
#: LoggerHook's evaluation lines (the metrics are printed once, by the CLI or the metric's summary).
DUMPS = re.compile(r'^(\n-{20,}\nSystem environment:|Config:\n|Hooks will be executed in the following order'
                   r'|(Iter|Epoch)\((val|test)\) )')
#: ``RetrievalMetric``'s one-line summary (``[protocol | scoring] R@1=... R@3=...``).
METRIC_SUMMARY = re.compile(r'^\[[^\]|]+ \| [^\]]+\] R@')


class QuietConsoleFilter(logging.Filter):
    """Drops the :data:`DUMPS` records, and with ``metric_summary=False`` the metric's summary line (for a
    caller that prints the metrics itself); everything else passes."""

    def __init__(self, metric_summary: bool = True) -> None:
        super().__init__()
        self.metric_summary = metric_summary

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.getMessage())
        if DUMPS.match(message):
            return False
        return self.metric_summary or METRIC_SUMMARY.match(message) is None


def quiet_console(logger: logging.Logger, metric_summary: bool = True) -> None:
    """Attach a :class:`QuietConsoleFilter` to ``logger``'s console handlers (not its file handlers)."""
    for handler in logger.handlers:
        if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
            for old in [f for f in handler.filters if isinstance(f, QuietConsoleFilter)]:
                handler.removeFilter(old)
            handler.addFilter(QuietConsoleFilter(metric_summary))
