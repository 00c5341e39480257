"""Reports for people: Markdown and self-contained HTML from the services' documents.

Renderers take the plain documents the services return (the same ones
``--format json`` prints) and never reach into the store or the analyzer, so
the CLI, the server and a saved JSON file all render the same way.
"""
