"""The demo page: the unmodified rasa-webchat widget, served from our own origin (no CDN)."""

from __future__ import annotations

import html
import json
from typing import Literal

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import FileResponse, HTMLResponse

from api import i18n
from api.deps import SessionReleasingRoute, SettingsDep

router = APIRouter(route_class=SessionReleasingRoute, include_in_schema=False)

# Nothing on the page may reach another origin: the widget's bundle asks for a web font, which this refuses.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self' ws: wss:; frame-ancestors 'self'"
)

PAGE = """<!doctype html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
 body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 46rem; padding: 0 1rem; color: #1f2933; }}
 .langs a {{ margin-right: 1rem; }}
 /* The widget pins its title and subtitle at fixed heights (position: absolute), so a title or subtitle that
    wraps runs into the other: here both flow in the header, which grows to hold them. */
 .rw-widget-container .rw-conversation-container .rw-header.rw-with-subtitle {{
   height: auto; min-height: 70px; padding: 10px 16px; box-sizing: border-box; }}
 .rw-widget-container .rw-conversation-container .rw-header.rw-with-subtitle .rw-title,
 .rw-widget-container .rw-conversation-container .rw-header.rw-with-subtitle > span {{ position: static; }}
 .rw-widget-container .rw-conversation-container .rw-title {{ font-size: 18px; line-height: 1.3; }}
 .rw-widget-container .rw-conversation-container .rw-header > span {{ margin-top: 2px; font-size: 14px; line-height: 1.3; }}
 /* Full screen (small screens), the close button sits at the header's right: the text keeps clear of it. */
 @media screen and (max-width: 800px) {{
   .rw-widget-container .rw-conversation-container .rw-header.rw-with-subtitle {{ padding: 10px 56px; }}
 }}
 /* A bot message's lines are as written (an option, a due date, a way to pay on each): markdown would join
    single line breaks into one paragraph. Blank lines still separate paragraphs. */
 .rw-widget-container .rw-conversation-container .rw-response .rw-markdown p {{ white-space: pre-line; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p>{intro}</p>
<p class="langs"><a href="/?lang=fr">Français</a><a href="/?lang=en">English</a></p>
<div id="webchat"></div>
<script src="/static/webchat/index.js"></script>
<script>
  WebChat.default({{
    selector: "#webchat",
    initPayload: "/greet",
    customData: {{ language: {lang_json}{creditor_json} }},
    socketUrl: window.location.origin,
    socketPath: "/socket.io/",
    title: {widget_title},
    subtitle: {widget_subtitle},
    inputTextFieldHint: {input_hint},
    showMessageDate: true,
    params: {{ storage: "session" }}
  }}, null);
</script>
</body>
</html>
"""


@router.get("/", response_class=HTMLResponse)
def demo_page(lang: Literal["fr", "en"] = Query("fr"), creditor: int | None = Query(None, ge=1)) -> HTMLResponse:
    """The demo page; `?creditor=N` makes it the page of creditor N (whose debtors then verify here)."""

    def text(key: str) -> str:
        return i18n.t(key, lang)

    page = PAGE.format(
        lang=lang,
        lang_json=json.dumps(lang),
        creditor_json=f", creditor: {creditor}" if creditor else "",
        title=html.escape(text("demo.page_title")),
        intro=html.escape(text("demo.page_intro")),
        widget_title=json.dumps(text("demo.widget_title")),
        widget_subtitle=json.dumps(text("demo.widget_subtitle")),
        input_hint=json.dumps(text("demo.input_hint")),
    )
    return HTMLResponse(page, headers={"Content-Security-Policy": CONTENT_SECURITY_POLICY})


@router.get("/static/webchat/index.js")
def webchat_bundle(settings: SettingsDep) -> FileResponse:
    bundle = settings.webchat_dir / "index.js"
    if not bundle.is_file():
        raise HTTPException(404, detail="The web widget is not installed: run `make setup` (npm ci in web/).")
    return FileResponse(bundle, media_type="application/javascript", headers={"Cache-Control": "public, max-age=3600"})
