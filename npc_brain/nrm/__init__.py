"""The model itself: tokenizer, transformer, KV cache, engine, constraints, trace, checkpoints."""
