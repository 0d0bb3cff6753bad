"""Import the authors' released checkpoints: the converter interface (``convert``) and the file side (``files``).

Converters are plugins registered in ``CHECKPOINT_CONVERTERS``; see docs/official_checkpoints.md.
"""
from .convert import (CheckpointConverter, ConversionError, ConversionResult, assemble, convert_state,
                      find_converter, registered_converters, strip_ddp_prefix, validate_result)
from .files import (ConvertedCheckpoint, OfficialCheckpoint, convert_file, load_official, maybe_convert_official,
                    peek_official, read_state_file, save_converted)

__all__ = [
    'CheckpointConverter', 'ConversionError', 'ConversionResult', 'ConvertedCheckpoint', 'OfficialCheckpoint',
    'assemble', 'convert_file', 'convert_state', 'find_converter', 'load_official', 'maybe_convert_official',
    'peek_official', 'read_state_file', 'registered_converters', 'save_converted', 'strip_ddp_prefix',
    'validate_result',
]
