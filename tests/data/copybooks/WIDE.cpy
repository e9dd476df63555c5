      * WIDE - control totals past 18 digits (IBM ARITH(EXTEND):
      * 31 digits in DISPLAY and COMP-3).
       01  WIDE-TOTALS.
           05  WT-COUNT        PIC 9(31).
           05  WT-HASH         PIC S9(31).
           05  WT-PACKED       PIC S9(31) COMP-3.
           05  WT-AMOUNT       PIC S9(29)V99 COMP-3.
           05  WT-LEAD-SEP     PIC S9(25)V9(6) SIGN LEADING SEPARATE.
           05  WT-EVEN-PACKED  PIC 9(30) COMP-3.
           05  WT-SMALL        PIC S9(18) COMP-3.
           05  WT-TOTAL-ED     PIC -(29)9.99.
