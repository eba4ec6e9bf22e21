"""genmed: generative AI for personalized medicine.

Importing this package is deliberately cheap (no torch, RDKit or admet-ai): every capability imports its
heavy dependencies inside the functions that need them.
"""

__version__ = "0.1.0"
