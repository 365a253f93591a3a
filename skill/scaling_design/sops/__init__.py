"""sops step modules: each owns its pydantic Input, Output and run()."""
