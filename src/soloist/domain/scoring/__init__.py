"""Model runs: fit the analytics to the workspace, store per-customer scores, read them back."""
