"""Built-in roads, one module each; every one is declared as an entry point of the group
``hybridsolve.solvers`` in our own pyproject.toml, exactly as a third-party plugin is."""
