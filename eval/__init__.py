"""Answer-quality evaluation. Import as ``from eval.x import y``, never ``import eval``."""
