           05  LR-TOTAL        PIC S9(7)V99 COMP-3.
