"""Placeholder: filled in by the cases work."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
