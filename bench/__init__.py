"""Benchmarks: each builds its own throwaway database, measures one thing and prints its figures.

`python -m bench` runs them all (each in its own process) and prints a table; `python -m bench NAME`
runs one. Benchmarks are not tests: they report figures against targets and never fail a build.
"""
