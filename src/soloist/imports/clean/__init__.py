"""Turning raw table rows into typed, validated drafts."""
