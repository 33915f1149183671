"""The command line (cli), the only module that parses it."""
