"""One module per export format that Soloist reads."""
