"""The ``csa-bench`` command line: ``main(argv=None)`` (also ``python -m csa_bench``).

Subcommands are discovered: every module in this package that defines
``add_parser(subparsers) -> ArgumentParser`` and ``run(args) -> int`` is one ``csa-bench NAME``.
Errors a user can fix (missing config or checkpoint, unknown plugin name, bad file) are printed
as one line naming what, where and what to do, and exit with status 2.
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

from ._console import make_console
from .errors import CliError


def _command_modules() -> list:
    modules = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith('_') or info.name == 'errors':
            continue
        module = importlib.import_module(f'{__name__}.{info.name}')
        if hasattr(module, 'add_parser') and hasattr(module, 'run'):
            modules.append(module)
    return modules


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog='csa-bench', description='Livestreaming product recognition benchmark suite (CSA/RICE + baselines).')
    subparsers = parser.add_subparsers(dest='command', metavar='COMMAND', required=True)
    for module in _command_modules():
        sub = module.add_parser(subparsers)
        sub.set_defaults(_run=module.run)
    return parser


def _print_error(text: str) -> None:
    """``error: TEXT`` on stderr, on one line however long (``text`` is not rich markup: a path with
    brackets prints as it is)."""
    from rich.markup import escape

    make_console(stderr=True).print(f'[bold red]error:[/] {escape(text)}', highlight=False, soft_wrap=True)


def _one_line(err: BaseException) -> str:
    text = str(err).strip().strip('"\'') or type(err).__name__
    return ' '.join(text.split())


def _user_error_message(err: BaseException) -> str | None:
    """One line for the errors whose message already names the file, key or iteration; else None.

    Bad data, corrupt checkpoints and non-finite losses (issue 10); official checkpoints that do not
    fit the config (issue 16). A dataloader worker re-raises an exception it cannot rebuild as
    ``RuntimeError('Caught X in DataLoader worker ...')`` with the worker traceback; its last line
    is the original message.
    """
    from csa_bench.checkpoints import ConversionError
    from csa_bench.datasets import AnnotationError, BadSampleError, MediaError
    from csa_bench.engine.checkpoint import CorruptCheckpointError, NonFiniteWeightsError
    from csa_bench.engine.hooks import NonFiniteLossError

    known = (AnnotationError, BadSampleError, MediaError, CorruptCheckpointError, NonFiniteLossError,
             NonFiniteWeightsError, ConversionError)
    if isinstance(err, known):
        return _one_line(err)
    text = str(err)
    caught = any(f'Caught {k.__name__} in DataLoader worker' in text for k in known)
    if isinstance(err, RuntimeError) and caught:
        return ' '.join(text.strip().splitlines()[-1].split())
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default ``sys.argv[1:]``) and run the subcommand; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args([*argv] if argv is not None else None)  # `list` names the subcommand module
    try:
        return int(args._run(args) or 0)
    except CliError as err:
        _print_error(_one_line(err))
        return 2
    except KeyError as err:
        # mmengine's registry: "X is not in the csa_bench::model registry" (unknown plugin name).
        if 'registry' in str(err):
            _print_error(f'{_one_line(err)}. Check the type name in the config; '
                         '`csa-bench list` shows every registered name.')
            return 2
        raise
    except FileNotFoundError as err:
        _print_error(_one_line(err))
        return 2
    except Exception as err:
        message = _user_error_message(err)
        if message is None:
            raise
        from csa_bench.datasets import AnnotationError

        if isinstance(err, AnnotationError):
            from ._hints import missing_data_hint

            message += missing_data_hint(args, message)
        _print_error(message)
        return 2


if __name__ == '__main__':  # pragma: no cover
    sys.exit(main())
