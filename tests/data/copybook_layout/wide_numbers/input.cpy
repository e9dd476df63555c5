       01  WIDE-TOTALS.
           05  WT-COUNT        PIC 9(31).
           05  WT-PACKED       PIC S9(31) COMP-3.
           05  WT-AMOUNT       PIC S9(29)V99 COMP-3.
           05  WT-BIG-BIN      PIC S9(18) COMP.
