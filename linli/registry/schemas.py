from __future__ import annotations

from datetime import date

from ninja import Schema


class CommunityOut(Schema):
    code: str
    name: str
    street: str
    residents: int
    households: int


class ResidentOut(Schema):
    id: int
    name: str
    id_number: str  # masked
    sex: str
    age: int
    birth_date: date
    phone: str  # masked
    community: str
    grid: str | None
    building: str
    entrance: str
    room: str
    relation: str
    residency: str
    special: list[str]


class ResidentPage(Schema):
    count: int
    page: int
    page_size: int
    items: list[ResidentOut]


class RevealIn(Schema):
    field: str


class RevealOut(Schema):
    field: str
    value: str


class RowErrorOut(Schema):
    row: int
    column: str
    message: str


class ImportOut(Schema):
    job: int
    status: str
    message: str
    rows: int
    accepted: int
    rejected: int
    errors: list[RowErrorOut]
    created: int | None = None
    updated: int | None = None
    unchanged: int | None = None


class ErrorOut(Schema):
    detail: str
