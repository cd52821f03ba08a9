"""The torch frontend: an ``nn.Module`` -> the same Graph a YAML spec gives (imports torch)."""
