           05  B-AMT  PIC S9(7V99 COMP-3.
