"""Importing files into the workspace: resolve customers, write orders and activity."""
