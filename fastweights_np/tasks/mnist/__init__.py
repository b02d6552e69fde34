"""MNIST with multi-level glimpses (paper Sec. 4.2, Table 2): data, glimpses, models, task."""
