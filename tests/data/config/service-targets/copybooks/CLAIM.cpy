       01  CLAIM-REC.
           05  CLM-REF               PIC X(12).
           05  CLM-SURNAME           PIC X(20).
           05  CLM-AMOUNT            PIC S9(7)V99 COMP-3.
