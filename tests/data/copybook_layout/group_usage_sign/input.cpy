       01  TOTALS-REC.
           05  TOTALS-PACKED           COMP-3.
               10  TOT-A               PIC S9(5).
               10  TOT-B               PIC 9(4).
               10  TOT-TEXT            PIC X(3).
           05  TOTALS-LEAD             SIGN IS LEADING SEPARATE.
               10  TOT-C               PIC S9(3)V9.
               10  TOT-D               PIC 9(3).
           05  TOT-E                   PIC S9(3) BLANK WHEN ZERO.
           05  TOT-F                   PIC S9(9) USAGE BINARY.
           05  TOT-G                   PIC S9(10) COMPUTATIONAL-5.
