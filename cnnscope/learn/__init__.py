"""The students' tools: what a course would point out in a network.

- :mod:`cnnscope.learn.explain` — every layer's formulas with the numbers filled in;
- :mod:`cnnscope.learn.fit` — which input sizes let every window tile its input;
- :mod:`cnnscope.learn.lint` — design smells, one rule per file in ``lint/rules/``.

They compute; ``cnnscope.render`` and ``cnnscope.cli`` write what they find. Nothing here
imports torch.
"""
