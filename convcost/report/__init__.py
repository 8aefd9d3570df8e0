"""Presentation: numbers become text here and nowhere else (tables, Markdown, CSV, JSON)."""
