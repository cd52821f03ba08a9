"""Design smells a CNN course warns about, found in the user's own network.

Each rule is one module in :mod:`cnnscope.learn.lint.rules`; the registry, the context the
rules read and the selection live in :mod:`cnnscope.learn.lint.base`. A finding is a
:class:`cnnscope.diagnostics.Diagnostic` (the rule's id, the layer as its subject, the spec
line as its location). (The rules are ``all_rules()``: ``rules`` names their folder.)
"""

from cnnscope.learn.lint.base import Hit, LintContext, Rule, Selection, all_rules, lint, rule, spec_selection

__all__ = ["Hit", "LintContext", "Rule", "Selection", "all_rules", "lint", "rule", "spec_selection"]
