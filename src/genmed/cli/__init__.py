"""The ``genmed`` command line: one thin Typer module per capability, imported only when its group is invoked."""
