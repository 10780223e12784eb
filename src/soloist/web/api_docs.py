"""``/docs``: the interactive API reference (Swagger UI), for signed-in users only.

Swagger UI is vendored (``static/vendor/swagger-ui``) and started by ``static/api-docs.js``, so
the page loads nothing from another origin and keeps the app's Content-Security-Policy: no CDN,
no inline script. The setting ``api_docs = "off"`` removes the page (404). The machine-readable
``/openapi.json`` stays open, as scripts and the interface contract expect.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, Response

from soloist.errors import NotFoundError
from soloist.web.security import CurrentUser

router = APIRouter(include_in_schema=False)

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Soloist API</title>
<link rel="stylesheet" href="/static/vendor/swagger-ui/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi-url="/openapi.json"></div>
<script src="/static/vendor/swagger-ui/swagger-ui-bundle.js"></script>
<script src="/static/api-docs.js"></script>
</body>
</html>
"""


@router.get("/docs")
def api_docs(request: Request, user: CurrentUser) -> Response:
    if request.app.state.settings.api_docs == "off":
        raise NotFoundError("The API reference is turned off (setting api_docs).")
    return HTMLResponse(PAGE)
