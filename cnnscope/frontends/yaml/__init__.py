"""The YAML frontend: located YAML reading (``yamlio``), ``${...}`` expressions (``expr``) and
the spec language (``loader``). Never imports torch."""
