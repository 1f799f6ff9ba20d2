# A small Sphinx project written for picklecost's tests (sources in source/, Markdown via MyST).
project = "Orchard Field Guide"
author = "Ada Sample"
release = "1.0"
extensions = ["myst_parser", "sphinx.ext.todo"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = []
html_theme = "alabaster"
todo_include_todos = True
