"""Everything that becomes a :class:`~cnnscope.graph.Graph`.

``yaml/`` reads a spec file (located YAML, the spec language, ``${...}``); ``torch/`` captures
an ``nn.Module`` (imported only for module sources); ``sources`` decides which one a source
string goes to.
"""
