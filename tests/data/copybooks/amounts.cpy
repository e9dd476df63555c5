      * amounts - two packed amounts, renamed with REPLACING LEADING.
           05  AMT-CLAIMED     PIC S9(7)V99 COMP-3.
           05  AMT-PAID        PIC S9(7)V99 COMP-3.
