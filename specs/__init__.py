"""Built-in architecture specs, shipped as package data (cnnscope.specs)."""
