"""The weekly digest: build, rank, render."""
