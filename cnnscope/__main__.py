from cnnscope.cli.main import entry

entry()
