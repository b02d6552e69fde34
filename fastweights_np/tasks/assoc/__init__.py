"""Associative retrieval (paper Sec. 4.1, Table 1): data, the task model, the task's record
(``task.py``) and its experiment table1 (``reproduce.py``)."""
