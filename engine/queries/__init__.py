"""Read-only views over indexed projections, shared by the HTML pages and the API."""
