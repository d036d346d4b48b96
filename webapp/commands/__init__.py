"""The admin CLI's own commands, one module per concern; `webapp.cli` registers them."""
