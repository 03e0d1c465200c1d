"""The site owner's dashboard: server-rendered pages (Jinja2) over the same report functions as the read
API, a little vanilla JS, every asset served from here (collector/dashboard/static)."""
