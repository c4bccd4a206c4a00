"""Web pages: server-rendered with Jinja2, working without JavaScript."""
