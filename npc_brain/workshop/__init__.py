"""Making and measuring models: data generators, training, evaluation and benchmarks."""
