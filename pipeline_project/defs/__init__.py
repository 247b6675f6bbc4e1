"""The code location's domains, one folder each, loaded by `dg.load_from_defs_folder`."""
