"""Measure retrieval and answers on a QA benchmark (``../shared/bench/dev`` format), through the real chain.

``bench`` reads the benchmark and plans the collections questions are asked of, ``metrics`` scores
outcomes (pure), ``cache`` keeps passage vectors between runs, ``baseline`` is the tutorial setup, and
``run`` puts them together.
"""
