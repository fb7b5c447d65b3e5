"""The page routes, one module per area; `boxoffice.web.router` gathers them."""
