"""An example of a wirepub plugin package, registered through entry points in its dist-info the way an
installed package's would be: a format (brief.py: wire-brief) and a transport (memo.py: memo://)."""

from wirepub_plugin_example.memo import MEMOS, MemoTransport

__all__ = ["MEMOS", "MemoTransport"]
