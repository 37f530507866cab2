"""Layers: plain classes holding tensors, each with a builder taking a VarBuilder."""
