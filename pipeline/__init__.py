"""The build pipeline of Homework 4: load solutions -> verify -> render -> typeset.

Each stage is a module named after what it does; `build.py` runs them in order.
"""
