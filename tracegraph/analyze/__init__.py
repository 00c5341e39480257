"""Analysis: pure functions over traces and their graphs, returning plain values."""
