"""One-click unsubscribe: the GET shows a button, the POST unsubscribes."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from petitio.notifications.services import suppression_create, unsubscribe_message


@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    message = unsubscribe_message(token)
    if message is None or message.petition is None:
        return render(request, "notifications/unsubscribe_invalid.html", status=404)
    if request.method == "POST":
        suppression_create(message=message)
        return render(request, "notifications/unsubscribed.html", {"petition": message.petition})
    return render(request, "notifications/unsubscribe.html", {"petition": message.petition})
