"""Small shared utilities."""
from .atomic import atomic_write, write_json_atomic, write_text_atomic

__all__ = ['atomic_write', 'write_json_atomic', 'write_text_atomic']
