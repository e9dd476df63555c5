       01  CLM-HEADER.
           05  HDR-TYPE        PIC X VALUE 'H'.
           05  HDR-COUNT       PIC 9(7).
           05  FILLER          PIC X(12).
       01  CLAIM-REC.
           05  CLM-TYPE        PIC X VALUE 'D'.
           05  CLM-REF         PIC X(10).
           05  CLM-AMOUNT      PIC 9(7)V99.
       01  CLM-TRAILER.
           05  TRL-TYPE        PIC X VALUE 'T'.
           05  TRL-COUNT       PIC 9(7).
           05  TRL-SUM         PIC 9(9)V99.
           05  TRL-SUM2        PIC 9(1).
