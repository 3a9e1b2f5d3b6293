"""The front end: parse (lark → AST) and check (AST → typed model)."""
