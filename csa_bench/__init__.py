"""csa_bench: a plugin-based benchmark suite for livestreaming product recognition."""
__version__ = '0.1.0'
