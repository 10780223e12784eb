"""The server-rendered web app: pages per noun, templates/, static/ (vendored libraries)."""
