"""Decision tables: reading, checking and deciding DMN (our own evaluator, FEEL unary tests)."""
