       01  CLM-RECORD.
           05  CLM-REC-TYPE    PIC X.
           05  CLM-DETAIL.
               10  CLM-REF     PIC X(10).
               10  CLM-OFFICE  PIC X(8).
           05  CLM-HEADER REDEFINES CLM-DETAIL.
               10  HDR-SYSTEM  PIC X(8).
               10  FILLER      PIC X(10).
           05  CLM-TRAILER REDEFINES CLM-DETAIL.
               10  TRL-COUNT   PIC 9(7).
               10  FILLER      PIC X(11).
