"""Benchmarks run by ``csa-bench bench NAME``: one module per NAME with ``add_arguments`` and ``run``.

Every figure a benchmark reports is a ratio taken in the same run (ours vs a baseline on the same
machine), so numbers from different machines stay comparable. ``run(args)`` returns a dict of the
measured figures; ``--out`` writes it as JSON.
"""
