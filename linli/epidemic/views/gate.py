"""Placeholder: filled in by the gate work."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
